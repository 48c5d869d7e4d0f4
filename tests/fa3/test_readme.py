"""The README's FA(3) example runs as written (build, parse, validate, render)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def fa3_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## FA(3) invoices as Python objects", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "expected one Python example in the README's FA(3) section"
    return str(blocks[0])


def test_the_readme_fa3_example_runs() -> None:
    namespace: dict[str, object] = {}
    exec(compile(fa3_example(), str(README), "exec"), namespace)  # our own README
    page = namespace["page"]
    assert isinstance(page, str) and page.startswith("<!DOCTYPE html>")
    assert namespace["report"].ok  # type: ignore[attr-defined]
