"""``ksefkit schemas``: download the Ministry's XSDs into the user cache, or show where they are."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .. import schemas as store_mod
from ..errors import SchemaNotFoundError
from ..formcodes import FormCode
from ._context import settings_of

__all__ = ["app"]

app = typer.Typer(help="The XSD schemas (invoice forms, UPO, auth) ksefkit validates against.")

_OTHER_SCHEMAS = (
    ("UPO v4-3", store_mod.UPO_XSD),
    ("auth v2-0", store_mod.AUTH_XSD_V20),
    ("auth v2-1", store_mod.AUTH_XSD_V21),
)


@app.command()
def fetch(ctx: typer.Context) -> None:
    """Download every schema (and its imports) into the user cache; print the paths."""
    out = settings_of(ctx).out
    store = store_mod.default_store()
    out.line(f"downloading schemas into {store.cache_dir} ...")
    paths = store.fetch_all()
    store_mod.reset_default_store()  # later lookups in this process see the fresh cache
    for path in paths:
        out.line(str(path), markup=False)
    out.line(f"[green]✓[/green] {len(paths)} files")
    if out.json_mode:
        out.emit_json({"cacheDir": str(store.cache_dir), "files": [str(p) for p in paths]})


@app.command()
def where(
    ctx: typer.Context,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with code 6 if any schema is missing.")
    ] = False,
) -> None:
    """Show where each schema is found (schema dir or cache), or that it is missing.

    Never downloads anything.
    """
    out = settings_of(ctx).out
    store = store_mod.SchemaStore(download=False)
    entries = [(fc.system_code, fc.xsd_path) for fc in FormCode] + list(_OTHER_SCHEMAS)
    rows: list[dict[str, Any]] = []
    for name, rel in entries:
        try:
            found: str | None = str(store.locate(rel))
        except SchemaNotFoundError:
            found = None
        rows.append({"name": name, "path": rel, "foundAt": found})
    out.fields(
        [
            (f"${store_mod.ENV_SCHEMA_DIR}", str(store.schema_dir or "(not set)")),
            ("cache", str(store.cache_dir)),
        ]
    )
    out.table(None, ["schema", "found at"], [[r["name"], r["foundAt"] or "missing"] for r in rows])
    missing = [r["name"] for r in rows if r["foundAt"] is None]
    if missing and not out.json_mode:
        out.note(
            f"missing: {', '.join(missing)} - set {store_mod.ENV_SCHEMA_DIR} or run "
            "`ksefkit schemas fetch`"
        )
    if out.json_mode:
        out.emit_json(
            {
                "schemaDir": str(store.schema_dir) if store.schema_dir else None,
                "cacheDir": str(store.cache_dir),
                "schemas": rows,
            }
        )
    if missing and strict:
        raise SchemaNotFoundError(f"{len(missing)} schema(s) missing: {', '.join(missing)}")
