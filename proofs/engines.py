"""Deciding a property: CHC (Spacer) for all trace lengths, BMC for shortest traces.

Why two engines: the constrained Horn clauses

    Inv(c0, m0)                      ⇐ c0 initial, m0 initial
    Inv(c', m')                      ⇐ Inv(c, m) ∧ T(c, s, c') ∧ m' = update(s, m)
    false                            ⇐ Inv(c, m) ∧ T(c, s, c') ∧ bad(c, s, c', m)

are satisfiable iff no accepted trace of any length reaches a bad step; z3's Spacer engine
either finds the inductive invariant (``proved``), refutes (``violated``) or gives up
(``unknown``, a failure). Spacer's refutation is not a readable trace, so the shortest
counterexample — and the witness that shows a property is not vacuous — come from bounded model
checking over ``unroll``: depth by depth, the first depth that is satisfiable is the shortest.
Every trace found is replayed on the Python machine (``replay``), so a z3 trace is never shown
unless the tables really accept it.
"""

from __future__ import annotations

import dataclasses
import time

import z3
from tlsmodel.model.machine import machine_for
from tlsmodel.model.tables import Model
from tlsmodel.proofs.encoding import encoding_for
from tlsmodel.proofs.results import PROVED, UNKNOWN, VIOLATED, Result, Trace
from tlsmodel.proofs.spec import Monitors, Property, Step
from tlsmodel.proofs.unroll import Unrolling, unroll

CHC_METHOD = "CHC (z3 Spacer), all lengths"


def horn_clauses(model: Model, prop: Property) -> list[z3.BoolRef]:
    """The three Horn clauses of ``prop`` on ``model`` (to solve, or to export as SMT-LIB2)."""
    enc = encoding_for(model)
    c, s, n, trans = enc.relation()
    m = {mon.name: mon.fresh("m") for mon in prop.monitors}
    m2 = {mon.name: mon.fresh("m'") for mon in prop.monitors}
    state = c.terms() + list(m.values())
    sorts = [t.sort() for t in state]
    inv = z3.Function(f"inv_{prop.name.replace('-', '_')}", *sorts, z3.BoolSort())
    everything = state + s.terms() + n.terms() + list(m2.values())
    updates = [m2[mon.name] == mon.update(s, m) for mon in prop.monitors]
    initial = [mon.is_initial(m[mon.name]) for mon in prop.monitors]
    step = Step(enc, c, s, n, m)
    return [
        z3.ForAll(state, z3.Implies(z3.And(enc.init(c), *initial), inv(*state))),
        z3.ForAll(
            everything,
            z3.Implies(z3.And(inv(*state), trans, *updates), inv(*(n.terms() + list(m2.values())))),
        ),
        z3.ForAll(
            state + s.terms() + n.terms(),
            z3.Implies(z3.And(inv(*state), trans, prop.bad(step)), z3.BoolVal(False)),
        ),
    ]


def prove(
    model: Model,
    prop: Property,
    timeout_ms: int = 10_000,
    cex_depth: int = 24,
    find_witness: bool = True,
) -> Result:
    """Decide ``prop`` on ``model`` for all trace lengths with Spacer.

    ``violated`` carries the shortest counterexample (BMC up to ``cex_depth``); ``proved``
    carries the shortest witness (the property is not vacuous; a missing witness within
    ``cex_depth`` makes the result ``unknown``, as a vacuous proof is no proof). A caller that
    finds the witnesses of many properties at once (``all_violations``, ``which="witness"``)
    passes ``find_witness=False`` and then applies ``with_witness``.
    """
    start = time.perf_counter()
    solver = z3.SolverFor("HORN")
    solver.set("timeout", timeout_ms)
    # Interpolating unsat cores only shape the lemmas Spacer learns, not what it can prove;
    # without them these queries take about 30% less time.
    solver.set("fp.spacer.use_iuc", False)
    solver.add(*horn_clauses(model, prop))
    answer = solver.check()
    if answer == z3.unsat:
        trace = shortest(model, prop, cex_depth, "bad")
        detail = "" if trace else f"no counterexample found by BMC up to depth {cex_depth}"
        return Result(
            prop.name,
            prop.rfc,
            CHC_METHOD,
            VIOLATED,
            time.perf_counter() - start,
            trace=trace,
            detail=detail,
        )
    if answer != z3.sat:
        return Result(
            prop.name,
            prop.rfc,
            CHC_METHOD,
            UNKNOWN,
            time.perf_counter() - start,
            detail=f"Spacer: {solver.reason_unknown()}",
        )
    proved = Result(prop.name, prop.rfc, CHC_METHOD, PROVED, time.perf_counter() - start)
    if not find_witness:
        return proved
    witness = shortest(model, prop, cex_depth, "witness")
    return with_witness(proved, witness, cex_depth, time.perf_counter() - start)


def with_witness(result: Result, witness: Trace | None, depth: int, seconds: float) -> Result:
    """A CHC proof counts only with a witness: attach it, or turn the proof into ``unknown``."""
    if result.verdict != PROVED:
        return result
    if witness is None:
        return dataclasses.replace(
            result,
            verdict=UNKNOWN,
            seconds=seconds,
            detail=f"vacuous? no witness up to depth {depth}",
        )
    return dataclasses.replace(result, witness=witness, seconds=seconds)


def shortest(model: Model, prop: Property, max_depth: int, which: str) -> Trace | None:
    """The shortest accepted trace ending in a ``bad`` (or ``witness``) step, or None."""
    found = all_violations(model, [prop], max_depth, which)
    return found[0][1] if found else None


def all_violations(
    model: Model,
    props: list[Property],
    max_depth: int,
    which: str = "bad",
    first_depth_only: bool = True,
    min_depth: int = 1,
) -> list[tuple[Property, Trace]]:
    """BMC of several properties at once: each one reaching a ``which`` step within
    ``max_depth``, with its shortest trace, in order of depth.

    One unrolling and one incremental solver serve every property (monitors of the same name
    are the same observer, so the properties share the per-position monitor constants). At each
    depth one query asks whether any remaining property is hit; only then is each asked alone.
    With ``first_depth_only`` the search stops at the first depth where some property is hit
    (the shortest counterexamples); otherwise it goes on to ``max_depth`` for the others.
    Traces shorter than ``min_depth`` are not asked about (the caller knows there are none).
    """
    unrolled = unroll(model, max_depth, prefix="b")
    enc = unrolled.encoding
    monitors = {mon.name: mon for prop in props for mon in prop.monitors}
    solver = z3.Solver()
    current: Monitors = {name: mon.fresh("monitor0") for name, mon in monitors.items()}
    solver.add(unrolled.init, *(monitors[n].is_initial(t) for n, t in current.items()))
    remaining = list(props)
    found: list[tuple[Property, Trace]] = []
    for k in range(max_depth):
        solver.add(unrolled.steps[k])
        step = Step(enc, unrolled.configs[k], unrolled.symbols[k], unrolled.configs[k + 1], current)
        conditions = [(p, p.bad(step) if which == "bad" else p.witness(step)) for p in remaining]
        hit = (
            _model_of(solver, z3.Or([cond for _, cond in conditions]))
            if k + 1 >= min_depth
            else None
        )
        if hit is not None:
            # Every condition the first model satisfies shares its trace; with
            # ``first_depth_only`` that is the answer ("the properties this shortest
            # counterexample violates"), otherwise each other one is asked alone.
            pending = []
            for prop, cond in conditions:
                if z3.is_true(hit.eval(cond, model_completion=True)):
                    found.append((prop, _trace(model, unrolled, hit, k + 1)))
                    remaining.remove(prop)
                elif not first_depth_only:
                    pending.append((prop, cond))
            for prop, cond in pending:
                alone = _model_of(solver, cond)
                if alone is not None:
                    found.append((prop, _trace(model, unrolled, alone, k + 1)))
                    remaining.remove(prop)
            if first_depth_only or not remaining:
                break
        nxt = {name: mon.fresh(f"monitor{k + 1}") for name, mon in monitors.items()}
        solver.add(
            *(
                nxt[name] == mon.update(unrolled.symbols[k], current)
                for name, mon in monitors.items()
            )
        )
        current = nxt
    return found


def _model_of(solver: z3.Solver, condition: z3.BoolRef) -> z3.ModelRef | None:
    """A model of the solver's assertions and ``condition`` (kept out of the solver), or None."""
    solver.push()
    solver.add(condition)
    found = solver.model() if solver.check() == z3.sat else None
    solver.pop()
    return found


def _trace(model: Model, unrolled: Unrolling, z3model: z3.ModelRef, k: int) -> Trace:
    """The first ``k`` steps of a z3 model as a trace, replayed on the machine."""
    trace = Trace(tuple(unrolled.trace(z3model, k)), unrolled.final(z3model, k))
    replay(model, trace)
    return trace


def replay(model: Model, trace: Trace) -> None:
    """Check on the Python machine that ``model`` accepts ``trace`` exactly as z3 decoded it.

    A mismatch means the encoding and the machine disagree: an error, never a result.
    """
    machine = machine_for(model)
    for (config, symbol), nxt in zip(
        trace.steps, [*(c for c, _ in trace.steps[1:]), trace.final], strict=True
    ):
        successors = [succ for _, succ in machine.step(config, symbol)]
        if nxt not in successors:
            raise AssertionError(
                f"z3 trace disagrees with the machine at {config} / {symbol}: {successors}"
            )
