"""Incremental sync throughput against an emulator in a separate process.

    KSEFKIT_SCHEMA_DIR=../shared/ksef-spec python bench/bench_sync.py --invoices 10000

Seeds ``--invoices`` invoices for a seller through the emulator's admin API
(``POST /_emulator/invoices/seed``), then times ``client.invoices.sync("Subject1", into=dir)``
from an empty directory: invoices/s, MB/s of invoice XML written, and the client's peak RSS
(``ru_maxrss``) and its growth during the sync.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ksefkit import Client
from ksefkit.identifiers import random_nip


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
    for _ in range(400):
        try:
            if httpx.get(base + "/_emulator/health", timeout=0.5).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("emulator did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        proc, base = start_emulator(root / "emulator")
        try:
            subject = httpx.post(base + "/_emulator/subjects", json={}).json()
            now = dt.datetime.now(dt.UTC)
            seeded = httpx.post(
                base + "/_emulator/invoices/seed",
                json={
                    "sellerNip": subject["nip"],
                    "buyerNip": random_nip(),
                    "count": args.invoices,
                    "from": (now - dt.timedelta(days=20)).isoformat(),
                    "to": (now - dt.timedelta(minutes=5)).isoformat(),
                },
                timeout=600,
            )
            seeded.raise_for_status()
            time.sleep(1.5)  # let the HWM (now - hwm_lag) pass the newest seeded invoice
            target = root / "sync"
            rss_before = rss_mb()
            with Client(base_url=base + "/v2", timeout=120) as client:
                client.authenticate(subject["ksefToken"], nip=subject["nip"])
                start = time.perf_counter()
                client.invoices.sync("Subject1", into=target, start=now - dt.timedelta(days=21))
                elapsed = time.perf_counter() - start
            files = [p for p in target.rglob("*.xml")]
            size_mb = sum(p.stat().st_size for p in files) / 1e6
        finally:
            proc.terminate()
            proc.wait(30)
    print(
        json.dumps(
            {
                "invoices_seeded": args.invoices,
                "invoices_on_disk": len(files),
                "seconds": round(elapsed, 2),
                "invoices_per_s": round(len(files) / elapsed, 1),
                "MB_per_s": round(size_mb / elapsed, 2),
                "xml_MB": round(size_mb, 1),
                "client_peak_rss_MB": round(rss_mb(), 1),
                "client_rss_growth_MB": round(rss_mb() - rss_before, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
