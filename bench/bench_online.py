"""Online-session throughput and latency against an emulator in a separate process.

    python bench/bench_online.py --invoices 500 --latency-samples 50

Measures, on the client side:

* CPU time per invoice (``time.process_time``) for pre-flight + encryption + HTTP of
  ``--invoices`` invoices sent through one online session (invoices are generated before the
  clock starts);
* throughput (invoices/s, wall clock) of that sending;
* time from ``send`` returning to the KSeF number being seen, for single invoices
  (median and p95 over ``--latency-samples``).

The emulator runs as ``python -m ksefkit.cli.main emulator serve`` in its own process with a
throw-away data directory, so client and server do not share a GIL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ksefkit import Client, FormCode
from ksefkit.identifiers import random_nip
from ksefkit.invoices.generate import generate_batch_of


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_emulator(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "ksefkit.cli.main",
        "emulator",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(base + "/_emulator/health", timeout=0.5).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("emulator did not start")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=500)
    parser.add_argument("--latency-samples", type=int, default=50)
    parser.add_argument("--no-validate", action="store_true", help="skip the client-side XSD check")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_emulator(Path(tmp))
        try:
            subject = httpx.post(base + "/_emulator/subjects", json={}).json()
            nip, token = subject["nip"], subject["ksefToken"]
            today = dt.datetime.now(dt.UTC).date()
            invoices = [
                xml
                for _, xml in generate_batch_of(
                    args.invoices + args.latency_samples,
                    seller_nip=nip,
                    buyer_nip=random_nip(),
                    issue_date=today,
                )
            ]
            bulk, single = invoices[: args.invoices], invoices[args.invoices :]
            with Client(base_url=base + "/v2") as client:
                client.authenticate(token, nip=nip)
                with client.online_session(FormCode.FA3, validate_schema=not args.no_validate) as s:
                    s.send(single.pop())  # warm-up: schema compile, key fetch, connection
                    cpu0, wall0 = time.process_time(), time.perf_counter()
                    refs = [s.send(xml).reference_number for xml in bulk]
                    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
                    for ref in refs:
                        s.wait_for_ksef_number(ref, timeout=300)
                    latencies = []
                    for xml in single:
                        sent = s.send(xml)
                        t0 = time.perf_counter()
                        s.wait_for_ksef_number(sent.reference_number, timeout=60)
                        latencies.append(time.perf_counter() - t0)
        finally:
            proc.terminate()
            proc.wait(10)

    latencies.sort()
    result = {
        "invoices": args.invoices,
        "xsd_validation_on_client": not args.no_validate,
        "client_cpu_ms_per_invoice": round(1000 * cpu / args.invoices, 3),
        "invoices_per_second": round(args.invoices / wall, 1),
        "send_to_ksef_number_ms_median": round(1000 * statistics.median(latencies), 1),
        "send_to_ksef_number_ms_p95": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1),
        "latency_samples": len(latencies),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
