"""Dependency rules of the design, enforced: reference/ is an independent formalization (it never
imports the model, the proofs or the oracle), and the model imports nothing heavy."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def imported_modules(folder: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = "." * node.level + (node.module or "")
                names.add(base)
        found[str(path.relative_to(ROOT))] = names
    return found


def test_reference_imports_nothing_of_model_proofs_or_oracle() -> None:
    forbidden = (
        "tlsmodel.model",
        "tlsmodel.proofs",
        "tlsmodel.oracle",
        "model",
        "proofs",
        "oracle",
        "..model",
        "..proofs",
        "..oracle",
    )
    offenders = {
        path: sorted(n for n in names if any(n == f or n.startswith(f + ".") for f in forbidden))
        for path, names in imported_modules("reference").items()
    }
    assert not {p: n for p, n in offenders.items() if n}


@pytest.mark.parametrize("heavy", ["z3", "cryptography"])
def test_model_is_plain_python(heavy: str) -> None:
    for path, names in imported_modules("model").items():
        assert not any(n == heavy or n.startswith(heavy + ".") for n in names), path
