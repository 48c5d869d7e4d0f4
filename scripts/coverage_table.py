"""Write ``docs/coverage.md``: each open-api.json operation with its SDK method, emulator
route and contract test (the logic lives in ``tests/contract/coverage.py``, shared with the
gate test).

    python scripts/coverage_table.py [path/to/open-api.json]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "contract"))

from api_coverage import collect, render  # noqa: E402


def main(argv: list[str]) -> int:
    default = ROOT.parent / "shared" / "ksef-spec" / "open-api.json"
    spec = Path(argv[1]) if len(argv) > 1 else default
    rows = collect(spec)
    (ROOT / "docs" / "coverage.md").write_text(render(rows), encoding="utf-8")
    done = sum(r.complete for r in rows)
    print(f"docs/coverage.md: {done} of {len(rows)} operations covered")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
