"""Which open-api.json operations have an SDK method, an emulator route and a contract test.

Three independent readings, joined on ``"METHOD /path/template"``:

* **SDK**: every module-level :class:`ksefkit._http.Operation` of ``ksefkit._async`` (the one
  hand-written source; the sync twin is generated from it), with the public methods whose body
  names that constant (read with :mod:`ast`, so nothing is guessed from names);
* **emulator**: the routes of :func:`ksefkit.emulator.app.create_app`;
* **tests**: the ``OPERATIONS`` (or ``SLICE``) tuples of ``tests/contract/test_*.py``. Each of
  those modules drives the SDK against the emulator with a recording HTTP client, validates
  every exchange against open-api.json and asserts each listed operation answered 2xx, so a
  listed operation is one that a test calls through the SDK and the contract checks.

``python scripts/coverage_table.py`` writes the result to ``docs/coverage.md``; the gate test
fails when an operation lacks any of the three or when that file is stale.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
from dataclasses import dataclass, field
from pathlib import Path

from starlette.routing import Mount, Route

import ksefkit._async
from ksefkit._http import Operation

__all__ = ["Row", "collect", "render"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
_PARAM = re.compile(r"\{[^}]+\}")
_TABLE_NAMES = ("OPERATIONS", "SLICE")


def normalise(method: str, template: str) -> str:
    """``"GET /sessions/{}"`` for any parameter names (the SDK says ``{ref}``, the OAS more)."""
    return f"{method.upper()} {_PARAM.sub('{}', template)}"


@dataclass
class Row:
    """One operation of open-api.json and where it is covered."""

    operation: str
    summary: str
    sdk: list[str] = field(default_factory=list)
    route: bool = False
    tests: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return bool(self.sdk and self.route and self.tests)


def spec_operations(spec_path: Path) -> list[tuple[str, str]]:
    """``("METHOD /template", summary)`` for every operation, in document order."""
    document = json.loads(spec_path.read_text(encoding="utf-8"))
    out: list[tuple[str, str]] = []
    for template, item in document["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "delete", "patch"):
                # One table row: some summaries carry a second sentence on a new line.
                summary = " ".join(str(op.get("summary", "")).split())
                out.append((f"{method.upper()} {template}", summary))
    return out


def _client_attributes() -> dict[str, str]:
    """Resource class name -> ``client.<attribute>`` from ``AsyncClient.__init__``."""
    source = (Path(ksefkit._async.__file__).parent / "client.py").read_text(encoding="utf-8")
    names: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Attribute)
            and isinstance(node.targets[0].value, ast.Name)
            and node.targets[0].value.id == "self"
        ):
            names[node.value.func.id] = f"client.{node.targets[0].attr}"
    return names


def _sync_name(name: str) -> str:
    return name.removeprefix("Async")


def sdk_methods() -> dict[str, list[str]]:
    """Normalised operation -> public SDK methods (sync names) that send it."""
    attributes = _client_attributes()
    found: dict[str, list[str]] = {}
    package = Path(ksefkit._async.__file__).parent
    for info in pkgutil.walk_packages([str(package)], prefix="ksefkit._async."):
        module = importlib.import_module(info.name)
        constants = {
            name: normalise(value.method, value.template)
            for name, value in vars(module).items()
            if isinstance(value, Operation)
        }
        if not constants or module.__file__ is None:
            continue
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
            owner = attributes.get(cls.name, _sync_name(cls.name))
            for fn in cls.body:
                if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                if fn.name.startswith("_"):
                    continue
                used = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
                for const in sorted(used & constants.keys()):
                    found.setdefault(constants[const], []).append(f"{owner}.{fn.name}")
    return found


def emulator_routes() -> set[str]:
    """Normalised ``METHOD /path`` of every KSeF API route the emulator serves."""
    from ksefkit.emulator.app import create_app

    routes: set[str] = set()

    def walk(items: list[object], prefix: str) -> None:
        for item in items:
            if isinstance(item, Mount):
                walk(list(item.routes), prefix + item.path)
            elif isinstance(item, Route):
                for method in item.methods or ():
                    if method != "HEAD" and (prefix + item.path).startswith("/v2/"):
                        routes.add(normalise(method, (prefix + item.path).removeprefix("/v2")))

    walk(list(create_app().routes), "")
    return routes


def contract_tests() -> dict[str, list[str]]:
    """Normalised operation -> contract test modules that list it."""
    found: dict[str, list[str]] = {}
    for path in sorted(HERE.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
                continue
            target = node.targets[0]
            if not (isinstance(target, ast.Name) and target.id in _TABLE_NAMES):
                continue
            if not isinstance(node.value, (ast.Tuple, ast.List)):
                continue
            for element in node.value.elts:
                if isinstance(element, ast.Constant) and isinstance(element.value, str):
                    method, _, template = element.value.partition(" ")
                    key = normalise(method, template)
                    found.setdefault(key, []).append(path.name)
    return found


def collect(spec_path: Path) -> list[Row]:
    """One :class:`Row` per operation of ``spec_path``."""
    sdk, routes, tests = sdk_methods(), emulator_routes(), contract_tests()
    rows = []
    for operation, summary in spec_operations(spec_path):
        method, _, template = operation.partition(" ")
        key = normalise(method, template)
        rows.append(
            Row(
                operation=operation,
                summary=summary,
                sdk=sorted(set(sdk.get(key, []))),
                route=key in routes,
                tests=sorted(set(tests.get(key, []))),
            )
        )
    return rows


def render(rows: list[Row]) -> str:
    """The Markdown table of ``docs/coverage.md``."""
    done = sum(r.complete for r in rows)
    lines = [
        "# API coverage",
        "",
        "Generated by `python scripts/coverage_table.py` from `../shared/ksef-spec/open-api.json`;",
        "`tests/contract/test_coverage_gate.py` fails when an operation lacks an SDK method,",
        "an emulator route or a contract test that calls it through the SDK, or when this file",
        "is stale. SDK methods are given by their sync names; each has an `async` twin on",
        "`AsyncClient`.",
        "",
        f"**{done} of {len(rows)} operations covered.**",
        "",
        "| Operation | Summary | SDK | Emulator | Contract test |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        sdk = "<br>".join(f"`{m}`" for m in row.sdk) or "**missing**"
        route = "yes" if row.route else "**missing**"
        tests = "<br>".join(f"`{t}`" for t in row.tests) or "**missing**"
        summary = row.summary.replace("|", "\\|")
        lines.append(f"| `{row.operation}` | {summary} | {sdk} | {route} | {tests} |")
    return "\n".join(lines) + "\n"
