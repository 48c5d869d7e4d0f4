"""A syncing client process for ``test_sync_crash.py``: the test kills it (SIGKILL).

    KSEF_TOKEN=... python sync_client_script.py BASE_URL NIP INTO START_ISO

Runs ``client.invoices.sync("Subject1", into=INTO, start=START)`` (resuming from the
checkpoint under ``INTO`` when there is one) and prints the result as one JSON line.
``KSEFKIT_CRASH=PHASE:N`` makes the process kill itself (SIGKILL, no clean-up of any kind)
at the N-th progress report of that phase (``exporting``, ``downloaded``, ``stored``,
``checkpointed``), i.e. before the phase's next step runs.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import datetime
from pathlib import Path

from ksefkit import Client, SyncProgress


def main(base_url: str, nip: str, into: Path, start: datetime) -> None:
    phase, _, count = os.environ.get("KSEFKIT_CRASH", "").partition(":")
    at = int(count) if count else 0
    seen: dict[str, int] = {}

    def progress(report: SyncProgress) -> None:
        seen[report.phase] = seen.get(report.phase, 0) + 1
        if report.phase == phase and seen[report.phase] == at:
            os.kill(os.getpid(), signal.SIGKILL)

    with Client(base_url=base_url) as client:
        client.authenticate(os.environ["KSEF_TOKEN"], nip=nip)
        result = client.invoices.sync(
            "Subject1", into=into, start=start, progress=progress, timeout=60
        )
    print(
        json.dumps(
            {"windows": result.windows, "fetched": len(result.fetched), "new": len(result.new)}
        )
    )


if __name__ == "__main__":
    base, nip, target, start_iso = sys.argv[1:5]
    main(base, nip, Path(target), datetime.fromisoformat(start_iso))
