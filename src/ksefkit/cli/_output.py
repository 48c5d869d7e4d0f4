"""Everything the CLI prints: human lines and tables (rich) or one JSON document.

Human output goes to stdout through a rich console; when stdout is not a terminal rich
prints plain lines (no colours, no spinners) and the console is made wide enough that
reference and KSeF numbers are never wrapped. ``--json`` silences the human output and
prints exactly one JSON document on stdout. Errors go to stderr only (see ``_errors``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = ["Output", "Step", "fmt_time"]

_PLAIN_WIDTH = 240


@dataclass
class Step:
    """One timed step of a longer job (the demo, a send)."""

    name: str
    seconds: float = 0.0
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "seconds": round(self.seconds, 3)}
        if self.detail is not None:
            data["detail"] = self.detail
        return data


@dataclass
class Output:
    """The printer of one command run."""

    json_mode: bool = False
    verbose: int = 0
    steps: list[Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.console = _console(stderr=False)
        self.err = _console(stderr=True)

    @property
    def interactive(self) -> bool:
        """True when rich may draw spinners and progress bars (a terminal, not --json)."""
        return not self.json_mode and self.console.is_terminal

    def line(self, text: str = "", *, markup: bool = True) -> None:
        """A human line (rich markup allowed); nothing in --json mode."""
        if not self.json_mode:
            self.console.print(text if markup else escape(text))

    def info(self, text: str) -> None:
        """A plain progress line: stdout in human mode, stderr in --json mode (keeps JSON
        clean; a script still sees where e.g. a resumable state file went)."""
        if self.json_mode:
            self.err.print(escape(text), soft_wrap=True, highlight=False)
        else:
            self.console.print(escape(text), soft_wrap=True)

    def note(self, text: str) -> None:
        """A warning or hint: stdout in human mode, stderr in --json mode (keeps JSON clean)."""
        if self.json_mode:
            self.err.print(escape(text), soft_wrap=True)
        else:
            self.console.print(f"[yellow]{escape(text)}[/yellow]")

    def error(self, message: str) -> None:
        """The one ``error: ...`` line on stderr."""
        self.err.print(f"error: {escape(message)}", soft_wrap=True, highlight=False)

    def table(
        self, title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]]
    ) -> None:
        """A table; columns named ``*ref*`` / ``KSeF number`` never wrap."""
        if self.json_mode:
            return
        table = Table(title=title, title_justify="left", header_style="bold")
        for name in columns:
            keep = "ref" in name.lower() or "ksef" in name.lower()
            table.add_column(name, no_wrap=keep, overflow="fold")
        for row in rows:
            table.add_row(*(escape(cell) for cell in row))
        self.console.print(table)

    def fields(self, pairs: Sequence[tuple[str, str]]) -> None:
        """``label: value`` lines, labels aligned."""
        if self.json_mode or not pairs:
            return
        width = max(len(label) for label, _ in pairs)
        for label, value in pairs:
            self.console.print(f"{escape(label + ':'):<{width + 1}} {escape(value)}")

    def emit_json(self, document: Any) -> None:
        """The one JSON document of a --json run."""
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()

    @contextmanager
    def step(self, name: str) -> Iterator[Step]:
        """Time a step and print ``✓ name (0.12 s)`` when it ends (a spinner while it runs)."""
        step = Step(name)
        started = time.perf_counter()
        if self.interactive:
            with self.console.status(escape(name) + " ..."):
                yield step
        else:
            yield step
        step.seconds = time.perf_counter() - started
        self.steps.append(step)
        detail = f": {step.detail}" if step.detail else ""
        self.line(f"[green]✓[/green] {escape(name + detail)} [dim]({step.seconds:.2f} s)[/dim]")


def _console(*, stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty()
    width = None if terminal or os.environ.get("COLUMNS") else _PLAIN_WIDTH
    return Console(file=stream, stderr=stderr, highlight=False, width=width)


def fmt_time(value: datetime | None) -> str:
    """A timestamp for humans (seconds precision, offset kept), or ``-``."""
    if value is None:
        return "-"
    return value.replace(microsecond=0).isoformat()
