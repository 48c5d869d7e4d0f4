"""The 2 000-invoice reliability run, clean and with 10 % of requests faulted.

The scenario is the one ``tests/reliability/test_faulty_send.py`` judges (shared code in
``tests/reliability/faulty_run.py``): an emulator on 127.0.0.1 (real TCP, in-process server
thread), one online session, invoices sent one after another through the sync ``Client``
with its default retry policy and rate limiter; faults are 429 (``Retry-After: 1``), 503
problem details, 502 HTML pages, and connections dropped before and after the request was
processed. The run is judged from the emulator's own database.

    KSEFKIT_SCHEMA_DIR=../shared/ksef-spec .venv/bin/python bench/bench_faults.py --invoices 2000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "reliability"))

from faulty_run import run_scenario


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--fault-rate", type=float, default=0.10)
    args = parser.parse_args()
    os.environ.setdefault("KSEFKIT_SCHEMA_OFFLINE", "1")
    figures: dict[str, object] = {"invoices": args.invoices}
    for name, rate in (("clean", 0.0), ("faulty", args.fault_rate)):
        result = run_scenario(args.invoices, fault_rate=rate)
        figures[name] = {
            "fault_rate": rate,
            "seconds": round(result.seconds, 2),
            "invoices_per_second": round(args.invoices / result.seconds, 1),
            "http_requests": result.requests,
            "faults_hit": result.faults_hit,
            "accepted_exactly_once": result.accepted_once,
            "statuses": {str(k): v for k, v in result.statuses.items()},
        }
    figures["python"] = platform.python_version()
    figures["cpus"] = os.cpu_count()
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
