"""The sync tree is generated from the async one; fail when someone forgot to regenerate."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _load_generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("unasync", ROOT / "scripts" / "unasync.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["unasync"] = module
    spec.loader.exec_module(module)
    return module


def test_sync_tree_is_up_to_date() -> None:
    stale = _load_generator().stale_files()
    assert stale == [], f"run `python scripts/unasync.py`; stale: {stale}"


def test_rules_rewrite_async_constructs() -> None:
    gen = _load_generator()
    src = (
        "import anyio\n"
        "class AsyncThing:\n"
        "    async def go(self, c: httpx.AsyncClient) -> AsyncIterator[int]:\n"
        "        async with self._lock:\n"
        "            await _polling.async_sleep(1)\n"
        "        async for x in self.items():\n"
        "            yield x\n"
    )
    out = gen.unasync_text(src)
    assert "async" not in out.split("\n", 1)[1]
    assert "await" not in out
    assert "class Thing:" in out
    assert "def go(self, c: httpx.Client) -> Iterator[int]:" in out
    assert "_polling.sync_sleep(1)" in out
    assert "import threading" in out
