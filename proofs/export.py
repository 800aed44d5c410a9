"""``tlsmodel check --export-smt2 DIR``: every solver query as a file another solver can read.

Why: a proof by one solver is worth more when a second one can re-check it. The CHC queries are
written in the HORN logic of CHC-COMP (``(set-logic HORN)``, sat = the property holds: an
inductive invariant exists); the determinism and totality queries are plain QF_BV (unsat = the
property holds); the declarative equivalence writes its own queries. The exhaustive-search
results (reachability, deadlock) are not solver queries and are not exported.
"""

from __future__ import annotations

from pathlib import Path

import z3
from tlsmodel.model.tables import TLS12
from tlsmodel.proofs.engines import horn_clauses
from tlsmodel.proofs.properties import PROPERTIES
from tlsmodel.proofs.structural import determinism_query, totality_query

from tlsmodel.errors import UsageError


def _smt2(logic: str, meaning: str, assertions: list[z3.BoolRef]) -> str:
    solver = z3.Solver()
    solver.add(*assertions)
    return f"; {meaning}\n(set-logic {logic})\n{solver.sexpr()}(check-sat)\n"


def export_queries(directory: Path, equivalence_depth: int) -> int:
    """Write every query into ``directory`` (created if needed); returns how many."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--export-smt2: cannot create {directory}: {exc.strerror}") from exc
    files: list[tuple[str, str]] = []
    for prop in PROPERTIES:
        meaning = f"{prop.name} ({prop.rfc}): {prop.statement}. sat = holds for all lengths"
        files.append((prop.name, _smt2("HORN", meaning, horn_clauses(TLS12, prop))))
    files.append(
        (
            "determinism",
            _smt2("QF_BV", "determinism: unsat = at most one row fires", determinism_query(TLS12)),
        )
    )
    files.append(
        (
            "totality",
            _smt2("QF_BV", "totality: unsat = successors stay well formed", totality_query(TLS12)),
        )
    )
    from tlsmodel.proofs.declarative import equivalence_queries

    files += equivalence_queries(TLS12, equivalence_depth)
    for stem, text in files:
        (directory / f"{stem}.smt2").write_text(text, encoding="utf-8")
    return len(files)
