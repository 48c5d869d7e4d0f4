"""Batch package building: round trips through an independent AES, splitting, sources,
pre-flight aggregation, verify, manifests, cleanup and bounded memory."""

from __future__ import annotations

import base64
import datetime
import gzip
import hashlib
import io
import itertools
import json
import os
import tarfile
import tracemalloc
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ksefkit.batch import (
    MANIFEST_NAME,
    MAX_PACKAGE_SIZE,
    MAX_PART_SIZE,
    MAX_PARTS,
    BatchPackage,
    PackagePart,
    _archive,
    build_package,
    plan_parts,
)
from ksefkit.crypto import SymmetricKey
from ksefkit.errors import BatchPreflightError, ConfigurationError
from ksefkit.formcodes import FormCode
from ksefkit.invoices.generate import generate_batch_of

FA3_NS = FormCode.FA3.value.namespace


# --- independent helpers ----------------------------------------------------------------


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def decrypt(data: bytes, key: SymmetricKey) -> bytes:
    """AES-256-CBC + PKCS#7 straight from the primitives (not ksefkit.crypto)."""
    assert len(data) % 16 == 0
    decryptor = Cipher(algorithms.AES(key.key), modes.CBC(key.iv)).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    assert 1 <= pad <= 16
    assert plain[-pad:] == bytes([pad]) * pad
    return plain[:-pad]


def unpack(pkg: BatchPackage, key: SymmetricKey) -> tuple[bytes, dict[str, bytes]]:
    """Decrypt and join the parts, check every declared size/hash, return archive + files."""
    assert [p.ordinal_number for p in pkg.parts] == list(range(1, len(pkg.parts) + 1))
    archive = b""
    for part in pkg.parts:
        encrypted = part.path.read_bytes()
        assert len(encrypted) == part.size
        assert b64sha(encrypted) == part.hash
        plain = decrypt(encrypted, key)
        assert len(plain) == part.plain_size
        assert part.size == (part.plain_size // 16 + 1) * 16
        archive += plain
    assert len(archive) == pkg.archive_size
    assert b64sha(archive) == pkg.archive_hash
    files: dict[str, bytes] = {}
    if pkg.compression == "Zip":
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            assert zf.testzip() is None
            for name in zf.namelist():
                files[name] = zf.read(name)
    else:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tf:
            for member in tf.getmembers():
                assert member.isfile()
                extracted = tf.extractfile(member)
                assert extracted is not None
                with extracted:
                    files[member.name] = extracted.read()
    return archive, files


def invoices(count: int) -> list[tuple[str, bytes]]:
    return list(
        generate_batch_of(
            count,
            seller_nip="5265877635",
            buyer_nip="7740001454",
            issue_date=datetime.date(2026, 2, 1),
            run_id="T",
        )
    )


def noise_xml(index: int, size: int) -> bytes:
    """Invoice-like XML of about ``size`` bytes that compresses roughly 2:1."""
    body = os.urandom(size // 2).hex().encode()
    return (
        f'<Faktura xmlns="{FA3_NS}"><P_2>{index}</P_2><Uwagi>'.encode()
        + body
        + b"</Uwagi></Faktura>"
    )


@pytest.fixture
def key() -> SymmetricKey:
    return SymmetricKey.generate()


# --- round trips -----------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["Zip", "TarGz"])
@pytest.mark.parametrize("workers", [1, 2])
def test_round_trip_generated_invoices(
    tmp_path: Path, key: SymmetricKey, compression: str, workers: int
) -> None:
    given = invoices(6)
    pkg = build_package(
        given,
        key,
        directory=tmp_path / "pkg",
        compression=compression,
        part_size=1000,
        workers=workers,
    )
    assert pkg.compression == compression
    assert len(pkg.parts) > 1
    _, files = unpack(pkg, key)
    assert files == dict(given)
    assert [i.file_name for i in pkg.invoices] == [n for n, _ in given]
    for inv, (_, xml) in zip(pkg.invoices, given, strict=True):
        assert inv.invoice_hash == b64sha(xml)
        assert inv.invoice_size == len(xml)
    assert pkg.verify() == []
    info = pkg.batch_file_info()
    assert info["fileSize"] == pkg.archive_size
    assert info["fileHash"] == pkg.archive_hash
    assert info["compressionType"] == compression
    assert info["fileParts"] == [
        {"ordinalNumber": p.ordinal_number, "fileSize": p.size, "fileHash": p.hash}
        for p in pkg.parts
    ]
    # only the parts and the manifest remain; the plain archive is gone
    assert sorted(p.name for p in (tmp_path / "pkg").iterdir()) == sorted(
        [MANIFEST_NAME, *(p.path.name for p in pkg.parts)]
    )


@pytest.mark.parametrize("compression", ["Zip", "TarGz"])
def test_larger_multi_block_round_trip(tmp_path: Path, key: SymmetricKey, compression: str) -> None:
    # > 256 KiB of tar stream (several parallel gzip blocks); incompressible entries are stored
    given = [(f"n{i}.xml", noise_xml(i, 60_000)) for i in range(8)]
    given.append(("random.xml", os.urandom(5000)))
    pkg = build_package(
        given, key, directory=tmp_path, compression=compression, part_size=100_000, preflight=False
    )
    _, files = unpack(pkg, key)
    assert files == dict(given)
    if compression == "Zip":
        archive, _ = unpack(pkg, key)
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            methods = {i.filename: i.compress_type for i in zf.infolist()}
        assert methods["random.xml"] == zipfile.ZIP_STORED
        assert methods["n0.xml"] == zipfile.ZIP_DEFLATED


@pytest.mark.parametrize("compression", ["Zip", "TarGz"])
def test_non_ascii_names(tmp_path: Path, key: SymmetricKey, compression: str) -> None:
    given = [("faktura-żółć.xml", b"<a/>"), ("plain.xml", b"<b/>")]
    pkg = build_package(given, key, directory=tmp_path, compression=compression, preflight=False)
    assert unpack(pkg, key)[1] == dict(given)


def test_zip64_records_read_by_stdlib(
    tmp_path: Path, key: SymmetricKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what a >4 GiB archive or >65535 entries would need, forced with tiny thresholds
    monkeypatch.setattr(_archive, "_ZIP64_LIMIT", 100)
    monkeypatch.setattr(_archive, "_ZIP_COUNT_LIMIT", 2)
    given = [(f"{i}.xml", noise_xml(i, 300)) for i in range(4)]
    pkg = build_package(given, key, directory=tmp_path, preflight=False)
    archive, files = unpack(pkg, key)
    assert files == dict(given)
    assert b"PK\x06\x06" in archive  # ZIP64 end of central directory record
    assert b"PK\x06\x07" in archive  # and its locator


def test_parallel_gzip_writer_is_one_valid_member() -> None:
    data = b"".join(noise_xml(i, 5000) for i in range(40)) + b"tail"
    for executor in (_archive.InlineExecutor(), ThreadPoolExecutor(2)):
        with executor:
            out = _archive.HashingWriter(io.BytesIO())
            writer = _archive.ParallelGzipWriter(out, executor, window=2, block_size=4096)
            for start in range(0, len(data), 1000):
                writer.write(data[start : start + 1000])
            writer.close()
        raw = out.raw.getvalue()  # type: ignore[attr-defined]
        assert gzip.decompress(raw) == data
        assert out.size == len(raw)
        assert out.hash_b64 == b64sha(raw)


# --- splitting -------------------------------------------------------------------------


def test_plan_parts_reference_split() -> None:
    assert plan_parts(100, 100) == [(0, 100)]
    assert plan_parts(101, 100) == [(0, 51), (51, 50)]
    assert plan_parts(1, 100) == [(0, 1)]
    assert plan_parts(MAX_PART_SIZE) == [(0, MAX_PART_SIZE)]
    plan = plan_parts(MAX_PART_SIZE + 1)
    assert [length for _, length in plan] == [50_000_001, 50_000_000]
    # 50 parts is the limit, one byte more is an error
    assert len(plan_parts(50 * 7, 7)) == MAX_PARTS
    with pytest.raises(ConfigurationError, match="50 parts"):
        plan_parts(50 * 7 + 1, 7)
    assert len(plan_parts(MAX_PACKAGE_SIZE)) == MAX_PARTS
    with pytest.raises(ConfigurationError, match="5000000000"):
        plan_parts(MAX_PACKAGE_SIZE + 1)
    for size in (0, MAX_PART_SIZE + 1):
        with pytest.raises(ConfigurationError, match="part_size"):
            plan_parts(10, size)
    with pytest.raises(ConfigurationError, match="empty"):
        plan_parts(0, 10)


@pytest.mark.parametrize("total", [1, 15, 16, 17, 999, 1000, 1001, 4999])
def test_plan_parts_covers_everything(total: int) -> None:
    plan = plan_parts(total, 100)
    assert sum(length for _, length in plan) == total
    assert all(0 < length <= 100 for _, length in plan)
    assert all(a[0] + a[1] == b[0] for a, b in itertools.pairwise(plan))


def test_exact_part_size_and_one_byte_over(tmp_path: Path, key: SymmetricKey) -> None:
    given = [("a.xml", b"<a>" + b"x" * 200 + b"</a>")]
    probe = build_package(given, key, directory=tmp_path / "probe", preflight=False, workers=1)
    size = probe.archive_size
    probe.cleanup()
    exact = build_package(given, key, directory=tmp_path / "exact", part_size=size, preflight=False)
    assert [p.plain_size for p in exact.parts] == [size]
    over = build_package(
        given, key, directory=tmp_path / "over", part_size=size - 1, preflight=False
    )
    assert [p.plain_size for p in over.parts] == [(size + 1) // 2, size // 2]
    assert unpack(over, key)[1] == dict(given)


def test_too_many_parts_is_refused_and_cleaned(tmp_path: Path, key: SymmetricKey) -> None:
    given = [(f"{i}.xml", noise_xml(i, 2000)) for i in range(10)]
    with pytest.raises(ConfigurationError, match="50 parts"):
        build_package(given, key, directory=tmp_path / "new", part_size=64, preflight=False)
    assert not (tmp_path / "new").exists()
    # an existing directory is kept, but emptied of what was written
    (tmp_path / "kept").mkdir()
    with pytest.raises(ConfigurationError, match="50 parts"):
        build_package(given, key, directory=tmp_path / "kept", part_size=64, preflight=False)
    assert list((tmp_path / "kept").iterdir()) == []


# --- sources ---------------------------------------------------------------------------


def write_files(directory: Path, given: list[tuple[str, bytes]]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, xml in given:
        path = directory / name
        path.write_bytes(xml)
        paths.append(path)
    return paths


def test_directory_source_sorted_xml_only(tmp_path: Path, key: SymmetricKey) -> None:
    given = invoices(3)
    write_files(tmp_path / "in", list(reversed(given)))
    (tmp_path / "in" / "notes.txt").write_text("not an invoice")
    (tmp_path / "in" / "sub.xml").mkdir()
    seen: list[tuple[str, int, int]] = []
    pkg = build_package(
        tmp_path / "in", key, directory=tmp_path / "out", progress=lambda *a: seen.append(a)
    )
    assert [i.file_name for i in pkg.invoices] == sorted(n for n, _ in given)
    assert unpack(pkg, key)[1] == dict(given)
    total = sum(len(x) for _, x in given)
    packing = [s for s in seen if s[0] == "pack"]
    assert packing[0] == ("pack", 0, total)
    assert packing[-1] == ("pack", total, total)
    encrypting = [s for s in seen if s[0] == "encrypt"]
    assert encrypting[-1] == ("encrypt", pkg.archive_size, pkg.archive_size)


def test_single_file_and_path_list_sources(tmp_path: Path, key: SymmetricKey) -> None:
    given = invoices(2)
    paths = write_files(tmp_path / "in", given)
    one = build_package(paths[0], key, directory=tmp_path / "one")
    assert unpack(one, key)[1] == dict(given[:1])
    listed = build_package(list(reversed(paths)), key, directory=tmp_path / "list")
    assert [i.file_name for i in listed.invoices] == [given[1][0], given[0][0]]
    assert unpack(listed, key)[1] == dict(given)


def test_generator_source_is_consumed_lazily(tmp_path: Path, key: SymmetricKey) -> None:
    pulled: list[str] = []

    def source() -> Iterator[tuple[str, bytes]]:
        for name, xml in invoices(4):
            pulled.append(name)
            yield name, xml

    seen: list[tuple[str, int, int]] = []
    pkg = build_package(
        source(), key, directory=tmp_path, workers=1, progress=lambda *a: seen.append(a)
    )
    assert len(pulled) == 4
    assert len(pkg.invoices) == 4
    assert {s[2] for s in seen if s[0] == "pack"} == {0}  # total unknown up front


def test_missing_sources_and_bad_items(tmp_path: Path, key: SymmetricKey) -> None:
    with pytest.raises(ConfigurationError, match="no such file"):
        build_package(tmp_path / "nope", key)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigurationError, match=r"no \*\.xml"):
        build_package(tmp_path / "empty", key)
    with pytest.raises(ConfigurationError, match="empty"):
        build_package([], key, directory=tmp_path / "e")
    assert not (tmp_path / "e").exists()
    with pytest.raises(ConfigurationError, match="must be bytes"):
        build_package([("a.xml", "text")], key, directory=tmp_path / "t")  # type: ignore[list-item]
    with pytest.raises(ConfigurationError, match="expected a path"):
        build_package([42], key, directory=tmp_path / "n")  # type: ignore[list-item]


def test_bad_arguments(key: SymmetricKey) -> None:
    given = [("a.xml", b"<a/>")]
    with pytest.raises(ConfigurationError, match="compression"):
        build_package(given, key, compression="Rar")
    with pytest.raises(ConfigurationError, match="part_size"):
        build_package(given, key, part_size=0)
    with pytest.raises(ConfigurationError, match="not allowed in batch"):
        build_package(given, key, form_code=FormCode.PEF3)
    with pytest.raises(ConfigurationError, match="workers"):
        build_package(given, key, workers=0)
    with pytest.raises(ConfigurationError, match="SymmetricKey"):
        build_package(given, b"k" * 32)  # type: ignore[arg-type]


# --- problems, aggregated ----------------------------------------------------------------


def test_duplicate_names_rejected(tmp_path: Path, key: SymmetricKey) -> None:
    xml = invoices(1)[0][1]
    with pytest.raises(BatchPreflightError, match="used more than once") as caught:
        build_package(
            [("a.xml", xml), ("b.xml", xml), ("a.xml", xml)], key, directory=tmp_path / "d"
        )
    assert caught.value.problems == {
        "a.xml": ["the file name is used more than once (items 1 and 3)"]
    }
    assert not (tmp_path / "d").exists()
    # the same base name in two directories collides in the archive
    first = write_files(tmp_path / "x", [("f.xml", xml)])
    second = write_files(tmp_path / "y", [("f.xml", xml)])
    with pytest.raises(BatchPreflightError, match=r"f\.xml"):
        build_package([*first, *second], key, directory=tmp_path / "d2")


@pytest.mark.parametrize("workers", [1, 2])
def test_preflight_problems_of_all_files_in_one_error(
    tmp_path: Path, key: SymmetricKey, workers: int
) -> None:
    good = invoices(3)
    bom = b"\xef\xbb\xbf" + good[1][1]
    broken = good[2][1].replace(b"<P_2>", b"<P_2x>", 1)
    given = [good[0], ("bom.xml", bom), ("broken.xml", broken), ("empty.xml", b""), ("", b"<a/>")]
    with pytest.raises(BatchPreflightError) as caught:
        build_package(given, key, directory=tmp_path / "d", workers=workers)
    problems = caught.value.problems
    assert set(problems) == {"bom.xml", "broken.xml", "empty.xml", ""}
    assert any("BOM" in p for p in problems["bom.xml"])
    assert any("well-formed" in p for p in problems["broken.xml"])
    assert problems["empty.xml"] == ["the file is empty"]
    assert "not a usable file name" in problems[""][0]
    assert "4 file(s)" in str(caught.value)
    assert not (tmp_path / "d").exists()
    # schema problems are pre-flight problems too; without pre-flight anything goes
    invalid = (
        good[0][1]
        .replace(b"<P_2>", b"<P_2><!-- -->", 1)
        .replace(b"<KodWaluty>PLN", b"<KodWaluty>ZZZ")
    )
    with pytest.raises(BatchPreflightError, match="schema FA"):
        build_package([("v.xml", invalid)], key, directory=tmp_path / "s")
    assert (
        len(build_package(given[:4], key, directory=tmp_path / "off", preflight=False).invoices)
        == 4
    )


def test_unreadable_path_is_a_listed_problem(tmp_path: Path, key: SymmetricKey) -> None:
    paths = write_files(tmp_path / "in", invoices(1))
    with pytest.raises(BatchPreflightError, match="cannot be read"):
        build_package([*paths, tmp_path / "in" / "gone.xml"], key, directory=tmp_path / "d")


def test_attachment_raises_the_size_limit(tmp_path: Path, key: SymmetricKey) -> None:
    filler = b"<P_2>" + b"x" * 1_200_000 + b"</P_2>"
    plain = f'<Faktura xmlns="{FA3_NS}">'.encode() + filler + b"</Faktura>"
    attached = (
        f'<Faktura xmlns="{FA3_NS}"><Zalacznik>'.encode() + filler + b"</Zalacznik></Faktura>"
    )
    huge = (
        f'<Faktura xmlns="{FA3_NS}"><Zalacznik>'.encode() + filler * 3 + b"</Zalacznik></Faktura>"
    )
    with pytest.raises(BatchPreflightError) as caught:
        build_package(
            [("plain.xml", plain), ("attached.xml", attached), ("huge.xml", huge)],
            key,
            directory=tmp_path / "d",
            validate_schema=False,
        )
    assert set(caught.value.problems) == {"plain.xml", "huge.xml"}
    assert "over the limit of 1000000 bytes" in caught.value.problems["plain.xml"][0]
    assert "over the limit of 3000000 bytes" in caught.value.problems["huge.xml"][0]


def test_invoice_count_limit(tmp_path: Path, key: SymmetricKey) -> None:
    given = [(f"{i}.xml", b"<a/>") for i in range(4)]
    with pytest.raises(BatchPreflightError, match="more than 3 invoices"):
        build_package(given, key, directory=tmp_path / "d", preflight=False, max_invoices=3)
    pkg = build_package(given, key, directory=tmp_path / "ok", preflight=False, max_invoices=None)
    assert len(pkg.invoices) == 4


# --- verify, manifest, cleanup, secrets ---------------------------------------------------


def test_verify_detects_missing_and_corrupted_parts(tmp_path: Path, key: SymmetricKey) -> None:
    pkg = build_package(invoices(4), key, directory=tmp_path, part_size=800)
    assert len(pkg.parts) >= 3
    assert pkg.verify() == []
    pkg.parts[0].path.unlink()
    corrupted = bytearray(pkg.parts[2].path.read_bytes())
    corrupted[5] ^= 1
    pkg.parts[2].path.write_bytes(bytes(corrupted))
    assert pkg.verify() == [1, 3]
    with pkg.parts[1].path.open("ab") as f:  # same prefix, longer
        f.write(b"\0" * 16)
    assert pkg.verify() == [1, 2, 3]


def test_manifest_round_trip_and_resume(tmp_path: Path, key: SymmetricKey) -> None:
    pkg = build_package(invoices(3), key, directory=tmp_path / "a", part_size=900)
    data = json.loads(json.dumps(pkg.to_dict()))
    assert BatchPackage.from_dict(data) == pkg
    assert BatchPackage.load(tmp_path / "a") == pkg
    # a moved package is found through the directory override
    (tmp_path / "a").rename(tmp_path / "b")
    moved = BatchPackage.load(tmp_path / "b")
    assert moved.directory == tmp_path / "b"
    assert moved.verify() == []
    assert moved.batch_file_info() == pkg.batch_file_info()
    assert moved.part(2).plain_size == pkg.part(2).plain_size
    with pytest.raises(KeyError):
        moved.part(99)
    chunks = list(moved.part(1).iter_chunks(7))
    assert b"".join(chunks) == moved.part(1).path.read_bytes()
    for bad in ({}, {**data, "parts": [{"ordinal_number": "x"}]}, {**data, "compression": "Rar"}):
        with pytest.raises(ConfigurationError):
            BatchPackage.from_dict(bad)
    with pytest.raises(ConfigurationError, match="manifest"):
        BatchPackage.load(tmp_path / "nowhere")


def test_existing_package_is_not_overwritten_and_cleanup(tmp_path: Path, key: SymmetricKey) -> None:
    pkg = build_package(invoices(2), key, directory=tmp_path / "p")
    with pytest.raises(ConfigurationError, match="already holds a batch package"):
        build_package(invoices(2), key, directory=tmp_path / "p")
    assert pkg.verify() == []
    (tmp_path / "p" / "mine.txt").write_text("user file")
    pkg.cleanup()
    assert [p.name for p in (tmp_path / "p").iterdir()] == ["mine.txt"]
    default = build_package(invoices(1), key)
    assert default.directory.name.startswith("ksefkit-batch-")
    default.cleanup()
    assert not default.directory.exists()


def test_no_key_anywhere(tmp_path: Path, key: SymmetricKey) -> None:
    pkg = build_package(invoices(2), key, directory=tmp_path)
    key_b64, iv_b64 = key.to_b64()
    texts = [repr(pkg), str(pkg), json.dumps(pkg.to_dict()), (tmp_path / MANIFEST_NAME).read_text()]
    texts += [repr(p) for p in pkg.parts]
    for text in texts:
        assert key_b64 not in text
        assert iv_b64 not in text
        assert key.key.hex() not in text
    assert not any("key" in f for f in BatchPackage.__dataclass_fields__)
    assert repr(pkg).endswith("parts=1, invoices=2)")


def test_part_dataclass_wire() -> None:
    part = PackagePart(2, Path("p"), 32, "h", 20)
    assert part.to_wire() == {"ordinalNumber": 2, "fileSize": 32, "fileHash": "h"}


# --- bounded memory ----------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["Zip", "TarGz"])
def test_memory_stays_bounded(tmp_path: Path, key: SymmetricKey, compression: str) -> None:
    count, size = 500, 100_000  # ~50 MB of invoice-like data, ~2:1 compressible
    template = noise_xml(0, size)

    def source() -> Iterator[tuple[str, bytes]]:
        for i in range(count):
            # a fresh bytes object per invoice, generated lazily (cheap: a slice + concat)
            yield f"{i:05d}.xml", template[:-20] + f"{i:08d}".encode() + template[-20:]

    tracemalloc.start()
    try:
        pkg = build_package(
            source(),
            key,
            directory=tmp_path,
            compression=compression,
            part_size=5_000_000,
            preflight=False,
            workers=2,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert pkg.archive_size > 20_000_000
    assert len(pkg.parts) >= 5
    print(f"peak traced memory {peak} B")
    assert peak < 8_000_000, f"peak traced memory {peak} B"
    assert pkg.verify() == []
