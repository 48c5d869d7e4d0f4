"""A batch-sending client process for ``test_batch_crash.py``: the test kills it (SIGKILL).

    KSEF_TOKEN=... python batch_client_script.py BASE_URL NIP STATE_PATH SOURCE_DIR PART_SIZE

Sends ``SOURCE_DIR`` in a batch session with ``STATE_PATH`` (or resumes it if the file
exists) and prints the result as one JSON line. ``KSEFKIT_CRASH`` makes the process kill
itself (SIGKILL, no clean-up of any kind) at a chosen point:

* ``pack:N``      at the N-th packaging progress report;
* ``save:N``      right after the N-th state save (1 = package built, 2 = opened, then one
                  per part confirmed, last = closed);
* ``put:N``       as the N-th part upload starts (request sent, no answer read);
* ``putdone:N``   after storage answered the N-th upload, before the state records it;
* ``open``        after KSeF opened the session, before the state records it;
* ``close``       after KSeF accepted the close, before the state records it.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sys
from pathlib import Path

import httpx

from ksefkit import Client
from ksefkit.batch_state import BatchSessionState


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(base_url: str, nip: str, state_path: Path, source: Path, part_size: int) -> None:
    kind, _, count = os.environ.get("KSEFKIT_CRASH", "").partition(":")
    at = int(count) if count else 0
    counters = {name: itertools.count(1) for name in ("pack", "save", "put", "putdone")}

    def tick(name: str) -> None:
        if kind == name and next(counters[name]) == at:
            die()

    original_save = BatchSessionState.save

    def save(self: BatchSessionState, path: str | os.PathLike[str]) -> None:
        original_save(self, path)
        tick("save")

    BatchSessionState.save = save  # type: ignore[method-assign]

    def on_request(request: httpx.Request) -> None:
        if request.method == "PUT":
            tick("put")

    def on_response(response: httpx.Response) -> None:
        path, status = response.request.url.path, response.status_code
        if response.request.method == "PUT" and status == 201:
            tick("putdone")
        opened = path.endswith("/sessions/batch") and status == 201
        closed = path.endswith("/close") and status == 204
        if (kind == "open" and opened) or (kind == "close" and closed):
            die()

    def progress(phase: str, done: int, total: int) -> None:
        if phase in ("pack", "encrypt"):
            tick("pack")

    hooks = {"request": [on_request], "response": [on_response]}
    with httpx.Client(event_hooks=hooks) as http, Client(base_url=base_url, http_client=http) as c:
        c.authenticate(os.environ["KSEF_TOKEN"], nip=nip)
        if state_path.exists():
            result = c.resume_batch_session(state_path, parallelism=2).resume(progress=progress)
        else:
            batch = c.batch_session(state_path=state_path, parallelism=2)
            result = batch.send(source, part_size=part_size, progress=progress, timeout=60)
    print(
        json.dumps(
            {
                "reference_number": result.reference_number,
                "status": result.status_code,
                "invoices": [[i.file_name, i.status_code, i.ksef_number] for i in result.invoices],
            }
        )
    )


if __name__ == "__main__":
    base, nip, state, src, size = sys.argv[1:6]
    main(base, nip, Path(state), Path(src), int(size))
