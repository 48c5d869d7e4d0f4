"""FA(3) speed on one core: XSD validation, parse, write, model -> XML -> validate, checks.

    KSEFKIT_SCHEMA_DIR=../shared/ksef-spec python bench/bench_fa3.py
    KSEFKIT_SCHEMA_DIR=../shared/ksef-spec python bench/bench_fa3.py --seconds 3 --repeat 5

The process pins itself to one CPU (``sched_setaffinity``) so every figure is one core's.
The compiled schema is built once before timing (the schema store caches it per process).
Cases, each over a fixed set of documents cycled for ``--seconds``, best of ``--repeat``:

* ``xsd-samples``: ``SchemaStore.validate_invoice(bytes)`` of the 26 MF samples (XML parse +
  XSD validation, what pre-flight does);
* ``parse-samples``: ``fa3.parse(bytes)`` of the samples (XML -> typed model);
* ``to_xml-samples``: ``Invoice.to_xml()`` of the parsed samples;
* ``check-samples``: ``fa3.check(invoice)`` (the business checks alone);
* ``validate-samples``: ``fa3.validate(bytes)`` = XML parse + XSD + model + business checks;
* ``model-xml-xsd``: builder-made invoices (the realistic mix): ``to_xml`` then XSD
  validation of the bytes;
* ``build-xml-xsd``: the same, building each invoice with the builder first;
* ``render-samples``: ``fa3.render_html(invoice)``.

Prints a table (invoices/s and µs per invoice) and, with ``--json``, one JSON document.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ksefkit import fa3
from ksefkit.formcodes import FormCode
from ksefkit.invoices.realistic import company, invoice_mix
from ksefkit.schemas import default_store

TODAY = datetime.date(2026, 12, 31)


def samples_dir() -> Path:
    base = Path(os.environ.get("KSEFKIT_SCHEMA_DIR", "../shared/ksef-spec"))
    return base / "samples" / "FA3"


def built_invoices(count: int) -> list[fa3.Invoice]:
    start = datetime.date(2026, 3, 2)
    return list(
        invoice_mix(
            company("5265877635"),
            company("7740001454"),
            count,
            issue_date=lambda i: start + datetime.timedelta(days=i // 20),
            number=lambda i: f"FV/{i + 1}/2026",
            rng=random.Random(1),
            created_at=datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC),
        )
    )


def rate(work: Callable[[Any], object], items: Sequence[Any], seconds: float) -> float:
    """Items per second of ``work`` over ``items`` cycled for about ``seconds``."""
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for item in items:
            work(item)
        done += len(items)
        now = time.perf_counter()
        if now >= deadline:
            return done / (now - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per run of a case")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (best is kept)")
    parser.add_argument("--invoices", type=int, default=200, help="builder-made invoices")
    parser.add_argument("--cpu", type=int, default=None, help="the CPU to pin to")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()

    cpus = sorted(os.sched_getaffinity(0))
    cpu = args.cpu if args.cpu is not None else cpus[-1]
    os.sched_setaffinity(0, {cpu})

    files = sorted(samples_dir().glob("FA_3_Przyklad_*.xml"))
    if len(files) != 26:
        sys.exit(f"expected the 26 MF samples in {samples_dir()} (set KSEFKIT_SCHEMA_DIR)")
    documents = [f.read_bytes() for f in files]
    parsed = [fa3.parse(d) for d in documents]
    built = built_invoices(args.invoices)
    store = default_store()
    assert all(store.validate_invoice(d, FormCode.FA3) == [] for d in documents)  # compiles
    assert all(fa3.xsd_errors(i) == [] for i in built)

    def model_xml_xsd(invoice: fa3.Invoice) -> None:
        errors = store.validate_invoice(invoice.to_xml(pretty=False), FormCode.FA3)
        assert not errors

    mix = invoice_mix(
        company("5265877635"),
        company("7740001454"),
        10**9,
        issue_date=lambda i: datetime.date(2026, 3, 2),
        number=lambda i: f"FV/{i + 1}/2026",
        rng=random.Random(2),
        created_at=datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC),
    )

    def build_xml_xsd(_: object) -> None:
        model_xml_xsd(next(mix))

    cases: list[tuple[str, Callable[[Any], object], Sequence[Any]]] = [
        ("xsd-samples", lambda d: store.validate_invoice(d, FormCode.FA3), documents),
        ("parse-samples", fa3.parse, documents),
        ("to_xml-samples", lambda i: i.to_xml(pretty=False), parsed),
        ("check-samples", lambda i: fa3.check(i, today=TODAY), parsed),
        ("validate-samples", lambda d: fa3.validate(d, today=TODAY), documents),
        ("model-xml-xsd", model_xml_xsd, built),
        ("build-xml-xsd", build_xml_xsd, range(50)),
        ("render-samples", fa3.render_html, parsed),
    ]
    results = []
    for name, work, items in cases:
        best = max(rate(work, items, args.seconds) for _ in range(args.repeat))
        results.append({"case": name, "per_second": round(best, 1), "us": round(1e6 / best, 1)})
        if not args.json:
            print(f"{name:<18} {best:>10.1f} /s {1e6 / best:>10.1f} µs", flush=True)
    sizes = [len(d) for d in documents]
    built_sizes = [len(i.to_xml(pretty=False)) for i in built]
    info = {
        "python": platform.python_version(),
        "cpu": cpu,
        "load": os.getloadavg(),
        "sample_bytes_avg": sum(sizes) // len(sizes),
        "built_bytes_avg": sum(built_sizes) // len(built_sizes),
    }
    if args.json:
        print(json.dumps({"info": info, "results": results}, indent=2))
    else:
        print(json.dumps(info))


if __name__ == "__main__":
    main()
