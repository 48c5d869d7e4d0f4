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
#: (source, generated) trees: the library itself and the SDK tests that run on both faces.
PAIRS = [
    (ROOT / "src" / "ksefkit" / "_async", ROOT / "src" / "ksefkit" / "_sync"),
    (ROOT / "tests" / "sdk" / "_async", ROOT / "tests" / "sdk" / "_sync"),
]

HEADER = "# GENERATED from {src} by scripts/unasync.py: do not edit by hand.\n"

RULES: list[tuple[str, str]] = [
    (r"^ *@pytest\.mark\.anyio\n", ""),
    (r"\bksef_async_client\b", "ksef_client"),
    (r"\.async_client\(", ".client("),
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
    (r"Awaitable\[([\w.]+)\]", r"\1"),
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
COMPILED = [(re.compile(pattern, re.MULTILINE), repl) for pattern, repl in RULES]


def unasync_text(text: str, src: str = "src/ksefkit/_async") -> str:
    """The sync twin of one async module."""
    for pattern, repl in COMPILED:
        text = pattern.sub(repl, text)
    return HEADER.format(src=src) + text


def expected_tree() -> dict[Path, str]:
    """Generated path -> generated text, for every module of every async tree."""
    out: dict[Path, str] = {}
    for src, dst in PAIRS:
        label = str(src.relative_to(ROOT))
        for path in sorted(src.rglob("*.py")):
            out[dst / path.relative_to(src)] = unasync_text(path.read_text("utf-8"), label)
    return out


def stale_files() -> list[str]:
    """Generated files that differ from what the generator would write now."""
    expected = expected_tree()
    problems = [
        str(target.relative_to(ROOT))
        for target, text in expected.items()
        if not target.exists() or target.read_text(encoding="utf-8") != text
    ]
    for _, dst in PAIRS:
        for path in dst.rglob("*.py"):
            if path not in expected:
                problems.append(f"{path.relative_to(ROOT)} (not generated)")
    return problems


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = stale_files()
        for name in stale:
            print(f"stale: {name}")
        return 1 if stale else 0
    expected = expected_tree()
    for target, text in expected.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for _, dst in PAIRS:
        for path in dst.rglob("*.py"):
            if path not in expected:
                path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
