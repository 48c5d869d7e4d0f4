"""Batch sessions end to end: start → session UPO against an emulator in another process.

    KSEFKIT_SCHEMA_DIR=../shared/ksef-spec python bench/bench_batch.py --case gen10k
    KSEFKIT_SCHEMA_DIR=../shared/ksef-spec python bench/bench_batch.py --case big

Cases (the client runs in this process; ``ksefkit emulator serve`` in its own):

* ``gen10k``: 10 000 generated FA(3) invoices (~2.5 kB each) from a directory;
* ``big``: 2 000 XSD-valid FA(3) invoices with 400 lines of 512-character random names each
  (~290 kB, ~580 MB in, > 250 MB archive), produced on disk first.

``--no-validate`` turns the client's XSD pre-flight off (it is on by default and dominates
packaging time for small invoices).

For each: total wall time from ``batch.send()`` to the session UPO downloaded, the time of each
phase (package, upload, processing on the emulator), packaging MB/s, the client's peak RSS
(``ru_maxrss``, its growth over the run), and — measured in the same run over the same
invoices — the machine's cost of one single-threaded pass of deflate + AES-256-CBC + SHA-256.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import socket
import string
import subprocess
import sys
import tempfile
import time
import zlib
from decimal import Decimal
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ksefkit import Client, FormCode
from ksefkit.identifiers import random_nip
from ksefkit.invoices.generate import InvoiceLine, generate_fa3


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


CASES = {"gen10k": (10_000, 1, 24), "big": (2_000, 400, 512)}


def write_invoices(case: str, directory: Path, nip: str) -> list[Path]:
    rng = random.Random(7)
    today = dt.datetime.now(dt.UTC).date()
    count, lines, name_len = CASES[case]
    alphabet = string.ascii_letters + string.digits
    paths = []
    for i in range(count):
        items = [
            InvoiceLine(
                name="".join(rng.choices(alphabet, k=name_len)),
                quantity=Decimal(1),
                unit_net_price=Decimal("10.00"),
            )
            for _ in range(lines)
        ]
        xml = generate_fa3(
            seller_nip=nip,
            buyer_nip=random_nip(rng),
            invoice_number=f"B/{i:06d}",
            issue_date=today,
            lines=items,
        )
        path = directory / f"inv-{i:06d}.xml"
        path.write_bytes(xml)
        paths.append(path)
    return paths


def single_pass_cost(paths: list[Path]) -> float:
    """One single-threaded pass: deflate each document, AES-256-CBC + SHA-256 the stream."""
    key, iv = os.urandom(32), os.urandom(16)
    start = time.perf_counter()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    padder = padding.PKCS7(128).padder()
    digest = hashes.Hash(hashes.SHA256())
    for path in paths:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        chunk = compressor.compress(path.read_bytes()) + compressor.flush()
        digest.update(encryptor.update(padder.update(chunk)))
    digest.update(encryptor.update(padder.finalize()) + encryptor.finalize())
    digest.finalize()
    return time.perf_counter() - start


def run(case: str, validate: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        proc, base = start_emulator(root / "emulator")
        try:
            subject = httpx.post(base + "/_emulator/subjects", json={}).json()
            inv_dir = root / "invoices"
            inv_dir.mkdir()
            paths = write_invoices(case, inv_dir, subject["nip"])
            input_mb = sum(p.stat().st_size for p in paths) / 1e6
            baseline = single_pass_cost(paths)
            phases: dict[str, float] = {}
            marks: dict[str, float] = {}

            def progress(phase: str, done: int, total: int) -> None:
                marks.setdefault(phase + "_start", time.perf_counter())
                marks[phase + "_end"] = time.perf_counter()

            rss_before = rss_mb()
            with Client(base_url=base + "/v2", timeout=120) as client:
                client.authenticate(subject["ksefToken"], nip=subject["nip"])
                batch = client.batch_session(FormCode.FA3, state_path=root / "state.json")
                start = time.perf_counter()
                result = batch.send(
                    inv_dir, progress=progress, timeout=3600, validate_schema=validate
                )
                pages = result.upo_pages()
                total = time.perf_counter() - start
            package = batch.package
            archive_mb = package.archive_size / 1e6 if package else 0.0
            pack_end = marks.get("encrypt_end", marks.get("pack_end", start))
            phases["package_s"] = round(pack_end - start, 2)
            if "upload_start" in marks:
                phases["upload_s"] = round(marks["upload_end"] - marks["upload_start"], 2)
                phases["processing_and_upo_s"] = round(start + total - marks["upload_end"], 2)
            return {
                "case": case,
                "client_xsd_preflight": validate,
                "invoices": len(paths),
                "accepted": len(result.accepted),
                "input_MB": round(input_mb, 1),
                "archive_MB": round(archive_mb, 1),
                "parts": len(package.parts) if package else None,
                "upo_pages": len(pages),
                "total_s": round(total, 2),
                **phases,
                "packaging_MB_per_s": round(input_mb / max(phases["package_s"], 1e-9), 1),
                "single_pass_s": round(baseline, 2),
                "packaging_vs_single_pass": round(phases["package_s"] / baseline, 2),
                "client_peak_rss_MB": round(rss_mb(), 1),
                "client_rss_growth_MB": round(rss_mb() - rss_before, 1),
            }
        finally:
            proc.terminate()
            proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), required=True)
    parser.add_argument("--no-validate", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(args.case, not args.no_validate), indent=2))


if __name__ == "__main__":
    main()
