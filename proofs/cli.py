"""``tlsmodel check``: prove the properties of the tables, or kill the mutants.

Why here: the command only formats result objects (``check.run_all``, ``mutants``); it decides
nothing itself. ``register`` imports nothing heavy — z3 is imported when the command runs.
Exit status: 0 only if every property is proved (or, with ``--mutants``, every mutant is
killed); 1 otherwise; 2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tlsmodel.errors import UsageError

if TYPE_CHECKING:
    from tlsmodel.proofs.mutants import MutantResult
    from tlsmodel.proofs.results import Result

COLUMNS = ("property", "RFC §", "method", "result")
DEFAULT_JOBS = max(1, min(4, os.cpu_count() or 1))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``check`` subcommand."""
    parser = subparsers.add_parser(
        "check",
        help="prove the named properties of the TLS 1.2 tables with z3",
        description="Prove every named property of the tables (CHC / Spacer for all trace "
        "lengths, z3 validity, exhaustive search, bounded declarative equivalence); with "
        "--mutants, show that each mutant table is killed by a property.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--mutants",
        action="store_true",
        help="check the mutant tables instead (exit 1 if one survives)",
    )
    parser.add_argument(
        "--witnesses",
        action="store_true",
        help="also print each proof's witness trace (why it is not vacuous)",
    )
    parser.add_argument(
        "--export-smt2",
        metavar="DIR",
        type=Path,
        help="also write every solver query (SMT-LIB2 / HORN) into DIR",
    )
    parser.add_argument(
        "--timeout",
        metavar="MS",
        type=int,
        default=20_000,
        help="per-query solver timeout in ms (running out is 'unknown')",
    )
    parser.add_argument(
        "--equivalence-depth",
        metavar="N",
        type=int,
        default=8,
        help="trace length bound of the declarative equivalence (default 8)",
    )
    parser.add_argument(
        "--jobs",
        metavar="N",
        type=int,
        default=DEFAULT_JOBS,
        help=f"worker processes (default: CPUs, at most 4; here {DEFAULT_JOBS})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the checks and print the report; the exit code says whether everything holds."""
    if args.timeout < 1 or args.equivalence_depth < 1 or args.jobs < 1:
        raise UsageError("--timeout, --equivalence-depth and --jobs must be at least 1")
    from tlsmodel import __version__

    start = time.perf_counter()
    if args.export_smt2 is not None:
        from tlsmodel.proofs.export import export_queries

        written = export_queries(args.export_smt2, args.equivalence_depth)
        print(f"wrote {written} queries to {args.export_smt2}", file=sys.stderr)
    if args.mutants:
        return _run_mutants(args, __version__, start)
    from tlsmodel.proofs.check import Settings, run_all

    settings = Settings(timeout_ms=args.timeout, equivalence_depth=args.equivalence_depth)
    total = len(run_order_names())
    seen = [0]

    def progress(result: Result) -> None:
        seen[0] += 1
        print(
            f"[{seen[0]:2}/{total}] {result.name}: {result.verdict} ({result.seconds:.2f}s)",
            file=sys.stderr,
            flush=True,
        )

    results = run_all(settings, args.jobs, progress)
    ok = all(r.holds for r in results)
    if args.json:
        print(
            json.dumps(
                {"version": __version__, "properties": [r.to_json() for r in results]}, indent=1
            )
        )
    else:
        report = format_report(results, time.perf_counter() - start, args.witnesses)
        print("\n".join(report))
    return 0 if ok else 1


def run_order_names() -> list[str]:
    """The names the report will hold (for the progress counter)."""
    from tlsmodel.proofs.check import report_order

    return report_order()


def format_report(results: list[Result], seconds: float, witnesses: bool = False) -> list[str]:
    """The human table, then every counterexample as alternating state / message lines (and,
    with ``witnesses``, every proof's witness trace the same way)."""
    rows = [(r.name, r.rfc, r.method, r.verdict) for r in results]
    widths = [max(len(cell) for cell in column) + 2 for column in zip(COLUMNS, *rows, strict=True)]
    header = "".join(f"{name:<{w}}" for name, w in zip(COLUMNS, widths, strict=True)) + "time"
    lines = [header, "-" * len(header)]
    for r, cells in zip(results, rows, strict=True):
        lines.append(
            "".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True)) + f"{r.seconds:.2f}s"
        )
    for r in results:
        if r.verdict == "proved":
            if witnesses and r.witness is not None:
                lines += ["", f"witness: {r.name} (a shortest trace to what it constrains)"]
                lines += ["  " + line for line in r.witness.lines()]
            continue
        lines += ["", f"{r.verdict}: {r.name} ({r.rfc})"]
        if r.detail:
            lines.append(f"  {r.detail}")
        if r.trace is not None:
            lines += ["  " + line for line in r.trace.lines()]
    counts = {
        v: sum(1 for r in results if r.verdict == v) for v in ("proved", "violated", "unknown")
    }
    lines += [
        "",
        f"{len(results)} properties: {counts['proved']} proved, "
        f"{counts['violated']} violated, {counts['unknown']} unknown "
        f"({seconds:.2f}s wall)",
    ]
    return lines


def format_mutants(results: list[MutantResult], seconds: float) -> list[str]:
    """One line per mutant and its shortest counterexample as state / message lines."""
    lines = []
    for r in results:
        status = "killed" if r.killed else "SURVIVED"
        lines.append(
            f"{r.name}: {status} by {', '.join(r.by) or '-'}  [{r.bug}] ({r.seconds:.2f}s)"
        )
        if r.trace is not None:
            where = (
                ""
                if r.rfc_rejects_at is None
                else f" (the RFC tables reject message {r.rfc_rejects_at})"
            )
            lines.append(f"  shortest counterexample, {len(r.trace.steps)} messages{where}:")
            lines += ["    " + line for line in r.trace.lines()]
    killed = sum(1 for r in results if r.killed)
    lines.append(f"{killed}/{len(results)} mutants killed ({seconds:.2f}s wall)")
    return lines


def _run_mutants(args: argparse.Namespace, version: str, start: float) -> int:
    from tlsmodel.proofs.mutants import run_mutants

    def progress(result: MutantResult) -> None:
        print(
            f"mutant {result.name}: {'killed' if result.killed else 'SURVIVED'} "
            f"({result.seconds:.2f}s)",
            file=sys.stderr,
            flush=True,
        )

    results = run_mutants(args.jobs, progress)
    if args.json:
        print(json.dumps({"version": version, "mutants": [r.to_json() for r in results]}, indent=1))
    else:
        print("\n".join(format_mutants(results, time.perf_counter() - start)))
    return 0 if all(r.killed for r in results) else 1


_TIME = re.compile(r"\d+\.\d+s")


def mask_times(text: str) -> str:
    """The report with every duration replaced by ``#s`` (for golden files)."""
    return _TIME.sub("#s", text)
