"""Generate ``src/ksefkit/_sync`` from ``src/ksefkit/_async`` (the httpcore approach).

    python scripts/unasync.py           # rewrite the sync tree
    python scripts/unasync.py --check   # exit 1 if the sync tree is stale

The async code is the only source; every rule below is a plain token rewrite, so the two
trees stay line-for-line comparable.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "ksefkit" / "_async"
DST = ROOT / "src" / "ksefkit" / "_sync"

HEADER = "# GENERATED from src/ksefkit/_async by scripts/unasync.py: do not edit by hand.\n"

RULES: list[tuple[str, str]] = [
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\b__aiter__\b", "__iter__"),
    (r"\b__anext__\b", "__next__"),
    (r"\baclose\b", "close"),
    (r"\baread\b", "read"),
    (r"\baiter_bytes\b", "iter_bytes"),
    (r"\baiter_raw\b", "iter_raw"),
    (r"\bStopAsyncIteration\b", "StopIteration"),
    (r"\banext\(", "next("),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAsyncIterable\b", "Iterable"),
    (r"\bAsyncGenerator\b", "Generator"),
    (r"\basynccontextmanager\b", "contextmanager"),
    (r"Awaitable\[(\w+)\]", r"\1"),
    (r"\bhttpx\.AsyncClient\b", "httpx.Client"),
    (r"\bhttpx\.AsyncBaseTransport\b", "httpx.BaseTransport"),
    (r"\bhttpx\.AsyncHTTPTransport\b", "httpx.HTTPTransport"),
    (r"\bhttpx\.AsyncByteStream\b", "httpx.SyncByteStream"),
    (r"\b_polling\.async_sleep\b", "_polling.sync_sleep"),
    (r"\bimport anyio\b", "import threading"),
    (r"\banyio\.Lock\b", "threading.Lock"),
    (r"\bAn async\b", "A"),
    (r"\bAsync([A-Z]\w*)", r"\1"),
    (r"\basync_", "sync_"),
    (r"\b_async\b", "_sync"),
]
COMPILED = [(re.compile(pattern), repl) for pattern, repl in RULES]


def unasync_text(text: str) -> str:
    """The sync twin of one async module."""
    for pattern, repl in COMPILED:
        text = pattern.sub(repl, text)
    return HEADER + text


def expected_tree() -> dict[Path, str]:
    """Relative path -> generated text, for every module of the async tree."""
    return {
        path.relative_to(SRC): unasync_text(path.read_text(encoding="utf-8"))
        for path in sorted(SRC.rglob("*.py"))
    }


def stale_files() -> list[str]:
    """Files of the sync tree that differ from what the generator would write."""
    expected = expected_tree()
    problems = []
    for rel, text in expected.items():
        target = DST / rel
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            problems.append(str(rel))
    for path in DST.rglob("*.py"):
        if path.relative_to(DST) not in expected:
            problems.append(f"{path.relative_to(DST)} (not generated)")
    return problems


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = stale_files()
        for name in stale:
            print(f"stale: src/ksefkit/_sync/{name}")
        return 1 if stale else 0
    for rel, text in expected_tree().items():
        target = DST / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for path in DST.rglob("*.py"):
        if path.relative_to(DST) not in expected_tree():
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
