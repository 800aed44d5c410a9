"""The z3 proofs: every property holds on the RFC tables, every mutant is killed, and the
encoding agrees with the Python machine.

One module-scoped run of the whole ``tlsmodel check`` (two workers) feeds the property, JSON and
golden-file tests, so the file costs one check plus one mutant run.
Set ``TLSMODEL_UPDATE_GOLDEN=1`` to rewrite tests/golden/check.expect after a deliberate change.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path

import pytest
import z3
from tlsmodel.model.machine import (
    INITIAL_CONFIG,
    accepting,
    machine_for,
    symbols,
    variables_dict,
)
from tlsmodel.model.tables import TLS12
from tlsmodel.proofs import cli
from tlsmodel.proofs.check import Settings, report_order, run_all
from tlsmodel.proofs.encoding import (
    constant_symbol,
    decode_symbol,
    encoding_for,
    new_config,
    new_symbol,
)
from tlsmodel.proofs.engines import prove, replay
from tlsmodel.proofs.export import export_queries
from tlsmodel.proofs.mutants import MUTANTS, run_mutants
from tlsmodel.proofs.properties import BY_NAME, PROPERTIES
from tlsmodel.proofs.results import PROVED, UNKNOWN, VIOLATED
from tlsmodel.proofs.spec import Step
from tlsmodel.proofs.structural import explore, row_witnesses
from tlsmodel.proofs.unroll import unroll

from tlsmodel.errors import UsageError

GOLDEN = Path(__file__).parent / "golden" / "check.expect"


@pytest.fixture(scope="module")
def results():
    return run_all(Settings(), jobs=2)


@pytest.fixture(scope="module")
def mutant_results():
    return run_mutants(jobs=2)


def test_at_least_twenty_named_properties_with_rfc_sections() -> None:
    names = [p.name for p in PROPERTIES]
    assert len(names) >= 20 and len(set(names)) == len(names)
    assert all(p.rfc.startswith("RFC ") and p.statement for p in PROPERTIES)


def test_no_property_holds_by_construction() -> None:
    # Each bad condition is satisfiable on some well-formed step, ignoring reachability: the
    # proofs exclude it because of the tables, not because the condition is false.
    enc = encoding_for(TLS12)
    for prop in PROPERTIES:
        before, sym, after = new_config("v"), new_symbol("v"), new_config("w")
        monitors = {m.name: m.fresh("v") for m in prop.monitors}
        solver = z3.Solver()
        solver.add(sym.wellformed(), enc.wellformed(before), enc.wellformed(after))
        solver.add(prop.bad(Step(enc, before, sym, after, monitors)))
        assert solver.check() == z3.sat, prop.name


def test_every_property_is_proved_on_the_rfc_tables(results) -> None:
    assert [r.name for r in results] == report_order()
    failed = {r.name: (r.verdict, r.detail) for r in results if not r.holds}
    assert not failed


def test_chc_properties_carry_a_witness_so_none_is_vacuous(results) -> None:
    by_name = {r.name: r for r in results}
    for prop in PROPERTIES:
        witness = by_name[prop.name].witness
        assert witness is not None and witness.steps, prop.name
        replay(TLS12, witness)


def test_every_mutant_is_killed_with_a_replayed_shortest_counterexample(mutant_results) -> None:
    assert len(MUTANTS) >= 12
    for result, mutant in zip(mutant_results, MUTANTS, strict=True):
        assert result.killed and result.by, result.name
        assert set(result.by) <= set(BY_NAME)
        replay(mutant.model, result.trace)  # the mutant accepts it ...
        assert result.rfc_rejects_at is not None  # ... and the RFC tables do not


def test_mutant_counterexample_is_shortest(mutant_results) -> None:
    result = next(r for r in mutant_results if r.name == "early-ccs")
    # ClientHello, ServerHello, ServerHelloDone, then the early CCS: 4 is the least possible.
    assert [s[1] for _, s in result.trace.steps] == [
        "ClientHello",
        "ServerHello",
        "ServerHelloDone",
        "ChangeCipherSpec",
    ]


def test_every_table_row_has_a_replayed_witness_trace_that_fires_it() -> None:
    witnesses = row_witnesses(TLS12)
    assert set(witnesses) == set(TLS12.rows)
    machine = machine_for(TLS12)
    for row, trace in witnesses.items():
        replay(TLS12, trace)
        config, symbol = trace.steps[-1]
        fired = [r for r, _ in machine.step(config, symbol)]
        assert fired and (fired[0].message, fired[0].rfc) == (row.message, row.rfc)


def test_a_solver_unknown_is_a_failure_not_a_pass() -> None:
    result = prove(TLS12, BY_NAME["renegotiation-info-consistent"], timeout_ms=1)
    assert result.verdict == UNKNOWN and not result.holds
    lines = cli.format_report([result], 0.0)
    assert "0 proved, 0 violated, 1 unknown" in lines[-1]


def test_violation_on_a_mutant_is_reported_with_its_trace() -> None:
    mutant = next(m for m in MUTANTS if m.name == "ske-in-rsa")
    result = prove(mutant.model, BY_NAME["ske-forbidden-absent"])
    assert result.verdict == VIOLATED and not result.holds
    lines = result.trace.lines()
    assert lines[0].startswith("state   START")
    assert [line.split()[0] for line in lines] == ["state", "message"] * len(result.trace.steps) + [
        "state"
    ]
    assert lines[-2].startswith("message server ServerKeyExchange")
    report = cli.format_report([result], 1.0)
    at = report.index("violated: ske-forbidden-absent (RFC 5246 §7.4.3 (FREAK, CVE-2015-0204))")
    assert report[at + 1 : at + 1 + len(lines)] == ["  " + line for line in lines]
    assert report[-1].startswith("1 properties: 0 proved, 1 violated, 0 unknown")


def test_json_shapes(results, mutant_results) -> None:
    entry = results[0].to_json()
    assert {"name", "rfc", "method", "result", "depth", "seconds", "counterexample"} <= set(entry)
    assert entry["result"] == PROVED
    mutant = mutant_results[0].to_json()
    assert {"name", "bug", "killed", "by", "counterexample"} <= set(mutant)
    steps = mutant["counterexample"]
    assert steps[0] == {"state": "START", "vars": variables_dict(INITIAL_CONFIG)}
    assert steps[1]["from"] == "client" and steps[1]["type"] == "ClientHello"
    json.dumps({"version": "x", "properties": [r.to_json() for r in results]})


def test_witnesses_print_as_state_message_lines(results) -> None:
    lines = cli.format_report(results, 0.0, witnesses=True)
    at = lines.index("witness: nothing-after-fatal-alert (a shortest trace to what it constrains)")
    assert lines[at + 1] == "  state   START"
    assert lines[at + 2].startswith("  message ") and "Alert level=fatal" in lines[at + 2]


def test_golden_human_report(results) -> None:
    text = cli.mask_times("\n".join(cli.format_report(results, 0.0))) + "\n"
    if os.environ.get("TLSMODEL_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_factored_relation_equals_the_row_disjunction() -> None:
    enc = encoding_for(TLS12)
    c, s, n = new_config("x"), new_symbol("x"), new_config("y")
    solver = z3.Solver()
    solver.add(s.wellformed(), enc.factored(c, s, n) != enc.transition(c, s, n))
    assert solver.check() == z3.unsat


def test_encoding_agrees_with_the_machine_on_sampled_steps() -> None:
    machine = machine_for(TLS12)
    enc = encoding_for(TLS12)
    configs = list(explore(TLS12).parents)
    alphabet = list(symbols())
    rng = random.Random(5246)
    c, s, n, trans = enc.relation()
    for _ in range(150):
        config, symbol = rng.choice(configs), rng.choice(alphabet)
        solver = z3.Solver()
        solver.add(trans, enc.is_config(c, config), _symbol_is(s, symbol))
        expected = {succ for _, succ in machine.step(config, symbol)}
        got = set()
        while solver.check() == z3.sat:
            succ = enc.decode_config(solver.model(), n)
            got.add(succ)
            solver.add(z3.Not(enc.is_config(n, succ)))
        assert got == expected, (config, symbol)


def test_accepting_formula_matches_machine_accepting() -> None:
    enc = encoding_for(TLS12)
    c = new_config("acc")
    formula = enc.accepting(c)
    configs = list(explore(TLS12).parents)
    for config in random.Random(7627).sample(configs, 400):
        solver = z3.Solver()
        solver.add(enc.is_config(c, config), formula)
        assert (solver.check() == z3.sat) == accepting(config), config


def _symbol_is(s, symbol) -> z3.BoolRef:
    const = constant_symbol(symbol)
    _, message, *_ = symbol
    conj = [s.server == const.server, s.type == const.type]
    conj += [s.attrs[key] == const.attrs[key] for key in s.attrs if key[0] == message]
    return z3.And(conj)


def test_unrolling_accepts_the_rfc_figure_1_flow() -> None:
    flow = [
        ("client", "ClientHello"),
        ("server", "ServerHello", "ECDHE_RSA", False, False, False, True),
        ("server", "Certificate", False, False),
        ("server", "ServerKeyExchange"),
        ("server", "ServerHelloDone"),
        ("client", "ClientKeyExchange"),
        ("client", "ChangeCipherSpec"),
        ("client", "Finished"),
        ("server", "ChangeCipherSpec"),
        ("server", "Finished"),
    ]
    un = unroll(TLS12, len(flow))
    solver = z3.Solver()
    solver.add(un.accepted(len(flow)), un.accepting(len(flow)))
    solver.add(*(_symbol_is(un.symbols[i], sym) for i, sym in enumerate(flow)))
    assert solver.check() == z3.sat
    assert [decode_symbol(solver.model(), un.symbols[i]) for i in range(len(flow))] == flow
    solver.add(z3.Not(un.accepting(len(flow))))
    assert solver.check() == z3.unsat


def test_exported_horn_query_rechecks_in_a_fresh_solver(tmp_path: Path) -> None:
    count = export_queries(tmp_path, 2)
    assert count >= len(PROPERTIES) + 2
    solver = z3.SolverFor("HORN")
    solver.from_string((tmp_path / "nothing-after-fatal-alert.smt2").read_text())
    assert solver.check() == z3.sat
    solver = z3.Solver()
    solver.from_string((tmp_path / "determinism.smt2").read_text())
    assert solver.check() == z3.unsat


def test_cli_registers_check_and_rejects_bad_numbers() -> None:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["check", "--timeout", "0"])
    with pytest.raises(UsageError):
        args.func(args)
