"""Batch package building: throughput and peak RSS, beside a single-pass baseline.

    python bench/bench_package.py                 # all cases
    python bench/bench_package.py --cases big-zip-2 base-big

Every case runs in its own subprocess so peak RSS (``ru_maxrss``) figures do not mix:

* ``gen-*``: 10 000 generated FA(3) invoices (~3 kB each) read from a directory;
* ``big-*``: ~1 000 invoice-like documents of ~350 kB (Base64 noise inside XML, so deflate
  gets ~75 %), produced lazily by a generator -> an archive of ~270 MB;
* ``base-*``: the machine's cost of ONE single-threaded pass over the same bytes: deflate
  each document (zlib level 6, as the package does), then AES-256-CBC and SHA-256 over the
  deflated stream (1 MiB chunks). Nothing is written to disk.

Throughput is invoice (input) bytes per wall-clock second, best of ``--repeat`` runs (the
machine is shared; the best run is the one least disturbed). The RSS column is the peak of the
whole process minus its peak just before the build (interpreter, lxml and schemas loaded).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ksefkit.batch import build_package
from ksefkit.crypto import SymmetricKey
from ksefkit.formcodes import FormCode
from ksefkit.invoices.generate import generate_batch_of

BIG_COUNT = 1000
BIG_SIZE = 350_000
GEN_COUNT = 10_000
NS = FormCode.FA3.value.namespace

# name -> (source, compression, workers, preflight)
CASES: dict[str, tuple[str, str, int, str]] = {
    "gen-zip-2-xsd": ("gen", "Zip", 2, "xsd"),
    "gen-zip-1-xsd": ("gen", "Zip", 1, "xsd"),
    "gen-zip-2": ("gen", "Zip", 2, "off"),
    "gen-zip-1": ("gen", "Zip", 1, "off"),
    "gen-targz-2": ("gen", "TarGz", 2, "off"),
    "gen-targz-1": ("gen", "TarGz", 1, "off"),
    "base-gen": ("gen", "-", 1, "-"),
    "big-zip-2": ("big", "Zip", 2, "off"),
    "big-zip-1": ("big", "Zip", 1, "off"),
    "big-targz-2": ("big", "TarGz", 2, "off"),
    "big-targz-1": ("big", "TarGz", 1, "off"),
    "base-big": ("big", "-", 1, "-"),
}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def big_source() -> Iterator[tuple[str, bytes]]:
    noise = base64.b64encode(os.urandom(BIG_SIZE * 3 // 4))
    head = f'<Faktura xmlns="{NS}"><Uwagi>'.encode()
    for i in range(BIG_COUNT):
        rotate = (i * 7919) % len(noise)  # different bytes per document, no extra RAM
        yield f"big-{i:05d}.xml", head + noise[rotate:] + noise[:rotate] + b"</Uwagi></Faktura>"


def gen_source(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.xml"))


def baseline(docs: Iterator[bytes]) -> tuple[int, float]:
    key, iv = os.urandom(32), os.urandom(16)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    sha = hashlib.sha256()
    total = 0
    pending = b""
    start = time.perf_counter()
    for doc in docs:
        total += len(doc)
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        pending += c.compress(doc) + c.flush()
        if len(pending) >= 1 << 20:
            cut = len(pending) - len(pending) % 16
            sha.update(pending[:cut])
            encryptor.update(pending[:cut])
            pending = pending[cut:]
    sha.update(pending)
    encryptor.update(pending + b"\x10" * (16 - len(pending) % 16))
    encryptor.finalize()
    return total, time.perf_counter() - start


def child(name: str, gen_dir: Path, work: Path) -> dict[str, object]:
    source_kind, compression, workers, preflight = CASES[name]
    if source_kind == "gen":
        paths = gen_source(gen_dir)
    before = rss_mb()
    if compression == "-":
        docs = (
            (p.read_bytes() for p in paths)
            if source_kind == "gen"
            else (x for _, x in big_source())
        )
        total, seconds = baseline(docs)
        return {
            "case": name,
            "input_mb": total / 1e6,
            "seconds": seconds,
            "rss_delta_mb": rss_mb() - before,
        }
    source = paths if source_kind == "gen" else big_source()
    start = time.perf_counter()
    pkg = build_package(
        source,  # type: ignore[arg-type]
        SymmetricKey.generate(),
        directory=work / name,
        compression=compression,
        workers=workers,
        preflight=preflight != "off",
        validate_schema=preflight == "xsd",
    )
    seconds = time.perf_counter() - start
    total = sum(i.invoice_size for i in pkg.invoices)
    result = {
        "case": name,
        "input_mb": total / 1e6,
        "archive_mb": pkg.archive_size / 1e6,
        "parts": len(pkg.parts),
        "seconds": seconds,
        "rss_before_mb": before,
        "rss_delta_mb": rss_mb() - before,
    }
    pkg.cleanup()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; best time kept")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--gen-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.gen_dir, args.work)))
        return
    with tempfile.TemporaryDirectory(prefix="ksefkit-bench-") as tmp:
        gen_dir, work = Path(tmp) / "gen", Path(tmp) / "work"
        gen_dir.mkdir()
        work.mkdir()
        if any(CASES[c][0] == "gen" for c in args.cases):
            for file_name, xml in generate_batch_of(
                GEN_COUNT,
                seller_nip="5265877635",
                buyer_nip="7740001454",
                issue_date=dt.date(2026, 2, 1),
            ):
                (gen_dir / file_name).write_bytes(xml)
        header = ("case", "input MB", "archive MB", "parts", "s", "MB/s", "x base", "RSS +MB")
        print("{:<15} {:>9} {:>10} {:>5} {:>7} {:>7} {:>6} {:>8}".format(*header))
        base: dict[str, float] = {}
        # baselines first, so every case can be set against its own
        for name in sorted(args.cases, key=lambda c: not c.startswith("base-")):
            cmd = [sys.executable, __file__, "--child", name]
            cmd += ["--gen-dir", str(gen_dir), "--work", str(work)]
            runs = [
                json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
                for _ in range(args.repeat)
            ]
            r = min(runs, key=lambda run: float(run["seconds"]))
            rss = max(float(run["rss_delta_mb"]) for run in runs)
            kind = CASES[name][0]
            seconds = float(r["seconds"])
            if name.startswith("base-"):
                base[kind] = seconds
            ratio = f"{seconds / base[kind]:.2f}" if kind in base else "-"
            row = (name, r["input_mb"], r.get("archive_mb", 0.0), r.get("parts", "-"))
            print(
                "{:<15} {:>9.1f} {:>10.1f} {:>5}".format(*row),
                f"{seconds:>7.2f} {float(r['input_mb']) / seconds:>7.1f} {ratio:>6} {rss:>8.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
