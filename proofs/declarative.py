"""Bounded equivalence of the tables with the declarative RFC rules (``rules``).

Why this module exists: the tables (``model/tables.py``) and the rule set (``proofs/rules.py``)
are two formalizations of the same RFC sentences written independently; if both are right they
accept exactly the same traces. ``check_equivalence`` asks z3, for every length k up to a depth,
for a trace of length k that one side accepts as a legal prefix and the other does not.

Going depth by depth is sound and cheap because both sides are prefix-closed: a shortest
differing trace of length k has a prefix of length k-1 on which both sides agree, and they cannot
agree on rejecting it (a rejected prefix stays rejected). So the query at depth k assumes both
accept the first k-1 positions and asks only about the last one; the assumptions of depth k are
kept for depth k+1 (one incremental solver, each depth's question behind its own assumption
literal). The tables side is the proofs encoding (``Encoding.transition_at``; "the tables reject
position k-1" is "no row is enabled there"); the rules side is ``rules.RuleSystem``, the rule set
cut at each position. A counterexample is re-checked before it is reported: on the concrete
machine (``machine.step``, every run kept) and on the rules over concrete positions
(``rules.broken_rules``), which also names the rules it breaks.

Equal prefixes are not all: at each depth the check also asks for a prefix both accept that only
one side lets end there (the tables' ``accepting`` against ``rules.legal_end``). And
``prove_equivalence`` decides both questions for every length at once, as Horn clauses over a
tables configuration and the rules' notions (z3 Spacer; tens of seconds, so not the default).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import z3
from tlsmodel.model.machine import INITIAL_CONFIG, Config, Symbol, accepting, machine_for
from tlsmodel.model.tables import TLS12, Model
from tlsmodel.proofs.encoding import decode_symbol, encoding_for, new_config, new_symbol
from tlsmodel.proofs.results import PROVED, UNKNOWN, VIOLATED, Result, Trace
from tlsmodel.proofs.rules import (
    RULES,
    Rule,
    broken_rules,
    ends_legally,
    rule_names,
    rule_system,
)

NAME = "declarative-equivalence"
CHC_METHOD = "equivalence (CHC, z3 Spacer), all lengths"
RFC = "RFC 5246 §7.1-7.4; RFC 5077 §3; RFC 5746 §3; RFC 6066 §8; RFC 4492 §2-3; RFC 4279"
TABLES = "tables"
DECLARATIVE = "declarative"

__all__ = [
    "EquivalenceResult",
    "check_equivalence",
    "equivalence_queries",
    "machine_accepts",
    "machine_complete",
    "prove_equivalence",
    "rule_names",
]


@dataclass(frozen=True, slots=True)
class EquivalenceResult(Result):
    """A ``Result`` (one row of ``tlsmodel check``) with what the equivalence check adds.

    ``per_depth[k-1]`` is the solver time for traces of length k (both questions: a message
    only one side accepts, and a prefix only one side lets end there). On a difference:
    ``counterexample`` is the shortest differing trace, ``accepted_by`` the side that accepts it
    ("tables" or "declarative"), ``broken_rules`` the rules its last position breaks (when the
    tables accept it) and ``trace`` the tables' configurations as far as they accept.
    """

    per_depth: tuple[float, ...] = ()
    counterexample: tuple[Symbol, ...] = ()
    accepted_by: str | None = None
    broken_rules: tuple[str, ...] = ()

    @property
    def equivalent(self) -> bool:
        """Proved equal up to ``depth``."""
        return self.verdict == PROVED


def check_equivalence(
    model: Model = TLS12,
    depth: int = 20,
    timeout_ms: int | None = None,
    rules: Sequence[Rule] = RULES,
    on_depth: Callable[[int, float], None] | None = None,
) -> EquivalenceResult:
    """Prove that ``model``'s tables and the rules accept the same prefixes up to ``depth``.

    ``rules`` is the rule set to compare with (all of ``RULES`` unless a caller investigates a
    known disagreement by reading a rule differently). ``on_depth(k, seconds)`` is called after
    each depth that holds (progress for long runs). ``timeout_ms`` bounds the whole call; running
    out is ``unknown``.
    """
    if depth < 1:
        raise ValueError("depth must be at least 1")
    start = time.perf_counter()
    un = _Unrolling(model, rules, depth)
    solver = z3.SolverFor("QF_FD")
    solver.add(un.start())

    def check(*assumptions: z3.BoolRef) -> z3.CheckSatResult:
        if timeout_ms is not None:
            left = timeout_ms - int(1000 * (time.perf_counter() - start))
            if left <= 0:
                return z3.unknown
            solver.set("timeout", left)
        return solver.check(*assumptions)

    per_depth: list[float] = []
    for k in range(1, depth + 1):
        last = k - 1
        ok, tables_ok = un.rules_ok(last), un.enabled(last)
        differs = z3.Bool(f"eq.differs{k}")
        solver.add(
            z3.Implies(differs, z3.Or(z3.And(tables_ok, z3.Not(ok)), z3.And(ok, z3.Not(tables_ok))))
        )
        t0 = time.perf_counter()
        answer = check(differs)
        if answer == z3.sat:
            per_depth.append(time.perf_counter() - t0)
            return _difference(model, un, solver.model(), k, per_depth, start)
        if answer == z3.unsat:
            solver.add(un.step(last), ok, un.history_step(last))
            ends_differ = z3.Bool(f"eq.ends{k}")
            solver.add(z3.Implies(ends_differ, z3.Xor(un.accepting(k), un.may_end(k))))
            answer = check(ends_differ)
            per_depth.append(time.perf_counter() - t0)
            if answer == z3.sat:
                return _end_difference(model, un, solver.model(), k, per_depth, start)
        if answer != z3.unsat:
            per_depth.append(time.perf_counter() - t0)
            return _result(UNKNOWN, depth, per_depth, start, detail=f"solver: {answer} at {k}")
        if on_depth is not None:
            on_depth(k, per_depth[-1])
    if check() != z3.sat:
        return _result(
            UNKNOWN,
            depth,
            per_depth,
            start,
            detail=f"vacuous: no trace of length {depth} is accepted by both sides",
        )
    return _result(
        PROVED,
        depth,
        per_depth,
        start,
        detail=f"{len(rules)} rules; per-depth seconds " + _fmt(per_depth),
    )


def equivalence_clauses(model: Model = TLS12, rules: Sequence[Rule] = RULES) -> list[z3.BoolRef]:
    """Horn clauses that hold iff the tables and the rules agree on traces of every length.

    ``Inv(c, h)`` over a tables configuration and the rules' notions (``RuleSystem``):

        Inv(c0, h0)            ⇐ c0 initial, h0 the notions of the empty trace
        Inv(c', h')            ⇐ Inv(c, h) ∧ T(c, s, c') ∧ ok(h, s) ∧ h' = next(h, s)
        false                  ⇐ Inv(c, h) ∧ enabled(c, s) ≠ ok(h, s)
        false                  ⇐ Inv(c, h) ∧ accepting(c) ≠ may_end(h)

    (a prefix both accept, then a message only one side accepts — or a prefix both accept
    that only one side lets end there).
    """
    enc = encoding_for(model)
    c, s, n, trans = enc.relation()
    system = rule_system(tuple(rules))
    h, h2 = system.history, system.fresh("next")
    state = c.terms() + list(h.values())
    inv = z3.Function("equivalence_inv", *[t.sort() for t in state], z3.BoolSort())
    ok = system.ok(h, s)
    after = n.terms() + [h2[name] for name in h]
    return [
        z3.ForAll(state, z3.Implies(z3.And(enc.init(c), system.is_initial(h)), inv(*state))),
        z3.ForAll(
            state + s.terms() + after,
            z3.Implies(z3.And(inv(*state), trans, ok, system.step(h, s, h2)), inv(*after)),
        ),
        z3.ForAll(
            state + s.terms(),
            z3.Implies(
                z3.And(inv(*state), system.domains(s), z3.Xor(enc.enabled(c, s), ok)),
                z3.BoolVal(False),
            ),
        ),
        z3.ForAll(
            state,
            z3.Implies(
                z3.And(inv(*state), z3.Xor(enc.accepting(c), system.may_end(h))),
                z3.BoolVal(False),
            ),
        ),
    ]


def prove_equivalence(
    model: Model = TLS12,
    rules: Sequence[Rule] = RULES,
    timeout_ms: int = 600_000,
    cex_depth: int = 20,
) -> EquivalenceResult:
    """Decide the equivalence for ALL trace lengths (CHC, z3 Spacer); slow (tens of seconds).

    Spacer proves it by finding an inductive relation between the tables' configurations and
    the rules' notions; when it refutes instead, the shortest counterexample comes from
    ``check_equivalence`` up to ``cex_depth``.
    """
    start = time.perf_counter()
    solver = z3.SolverFor("HORN")
    solver.set("timeout", timeout_ms)
    solver.add(*equivalence_clauses(model, rules))
    answer = solver.check()
    seconds = time.perf_counter() - start
    if answer == z3.sat:
        return EquivalenceResult(
            NAME, RFC, CHC_METHOD, PROVED, seconds, detail=f"{len(rules)} rules, all lengths"
        )
    if answer == z3.unsat:
        found = check_equivalence(model, cex_depth, rules=rules)
        if found.verdict == VIOLATED:
            return dataclasses.replace(found, method=CHC_METHOD, seconds=seconds + found.seconds)
        return _result(
            UNKNOWN,
            cex_depth,
            [],
            start,
            detail=f"Spacer refutes, but no counterexample up to depth {cex_depth}",
        )
    return _result(UNKNOWN, 0, [], start, detail=f"Spacer: {solver.reason_unknown()}")


def equivalence_queries(model: Model = TLS12, depth: int = 20) -> list[tuple[str, str]]:
    """The all-lengths query as SMT-LIB2 (for ``check --export-smt2``; ``depth`` is unused by
    the Horn form, which covers every length)."""
    solver = z3.SolverFor("HORN")
    solver.add(*equivalence_clauses(model))
    return [(f"{NAME}-all-lengths", solver.sexpr() + "\n(check-sat)\n")]


class _Unrolling:
    """Both sides over n shared positions, each built once and copied per position.

    The tables: configurations c[0..n] of the proofs encoding; ``step(i)`` is the transition
    relation (``Encoding.transition_at``) — the tables being deterministic (property
    ``determinism``), c[i+1] is a function of c[i] and s[i] on accepted prefixes — and
    ``enabled(i)`` is "some row reads s[i] in c[i]". The rules: ``RuleSystem`` (the rule set at
    one position, its notions before and after it as constants h[i], h[i+1]); ``rules_ok(i)``
    is "position i keeps every rule". A counterexample is re-checked on the concrete machine
    with every run kept, and on the rules over concrete positions (``broken_rules``).
    """

    def __init__(self, model: Model, rules: Sequence[Rule], n: int) -> None:
        self.enc = encoding_for(model)
        self.system = rule_system(tuple(rules))
        self.configs = [new_config(f"eq{i}") for i in range(n + 1)]
        self.symbols = [new_symbol(f"eq{i}") for i in range(n)]
        self.history = [self.system.fresh(f"eq{i}") for i in range(n + 1)]
        c, s = new_config("en.c"), new_symbol("en.s")
        self._enabled = (c, s, self.enc.enabled(c, s))

    def start(self) -> z3.BoolRef:
        """c[0] initial, h[0] the notions of the empty trace, every position in its domains."""
        return z3.And(
            self.enc.init(self.configs[0]),
            self.system.is_initial(self.history[0]),
            *(self.system.domains(sym) for sym in self.symbols),
        )

    def enabled(self, i: int) -> z3.BoolRef:
        c, s, formula = self._enabled
        here = self.configs[i].terms() + self.symbols[i].terms()
        pairs = zip(c.terms() + s.terms(), here, strict=True)
        return z3.substitute(formula, *pairs)

    def step(self, i: int) -> z3.BoolRef:
        return self.enc.transition_at(self.configs[i], self.symbols[i], self.configs[i + 1])

    def accepting(self, i: int) -> z3.BoolRef:
        return self.enc.accepting(self.configs[i])

    def may_end(self, i: int) -> z3.BoolRef:
        return self.system.may_end(self.history[i])

    def rules_ok(self, i: int) -> z3.BoolRef:
        return self.system.ok(self.history[i], self.symbols[i])

    def history_step(self, i: int) -> z3.BoolRef:
        return self.system.step(self.history[i], self.symbols[i], self.history[i + 1])

    def trace(self, found: z3.ModelRef, k: int) -> Trace:
        steps = tuple(
            (self.enc.decode_config(found, self.configs[i]), decode_symbol(found, self.symbols[i]))
            for i in range(k)
        )
        return Trace(steps, self.enc.decode_config(found, self.configs[k]))


def _difference(
    model: Model,
    un: _Unrolling,
    found: z3.ModelRef,
    k: int,
    per_depth: list[float],
    start: float,
) -> EquivalenceResult:
    symbols = tuple(decode_symbol(found, un.symbols[i]) for i in range(k))
    tables_accept = z3.is_true(found.eval(un.enabled(k - 1), model_completion=True))
    side = TABLES if tables_accept else DECLARATIVE
    on_trace = broken_rules(symbols, un.system.rules)
    broken = tuple(name for i, name in on_trace if i == k - 1)
    rules_accept = not on_trace
    if machine_accepts(model, symbols) != tables_accept or rules_accept == tables_accept:
        return _result(
            UNKNOWN,
            k,
            per_depth,
            start,
            detail="z3 and the concrete re-check disagree on " + repr(symbols),
        )
    shown = k if tables_accept else k - 1
    trace = un.trace(found, shown)
    detail = f"only the {side} accept this trace of length {k}"
    if broken:
        detail += "; it breaks " + ", ".join(broken)
    return EquivalenceResult(
        NAME,
        RFC,
        _method(k),
        VIOLATED,
        time.perf_counter() - start,
        depth=k,
        trace=trace,
        detail=detail,
        per_depth=tuple(per_depth),
        counterexample=symbols,
        accepted_by=side,
        broken_rules=broken,
    )


def _end_difference(
    model: Model,
    un: _Unrolling,
    found: z3.ModelRef,
    k: int,
    per_depth: list[float],
    start: float,
) -> EquivalenceResult:
    """Both sides accept the first k positions, but only one lets the trace stop there."""
    symbols = tuple(decode_symbol(found, un.symbols[i]) for i in range(k))
    tables_end = z3.is_true(found.eval(un.accepting(k), model_completion=True))
    rules_end = ends_legally(symbols)
    if not machine_accepts(model, symbols) or broken_rules(symbols, un.system.rules):
        rules_end = tables_end  # the prefix itself is not shared: report as a z3 mismatch
    if machine_complete(model, symbols) != tables_end or rules_end == tables_end:
        return _result(
            UNKNOWN,
            k,
            per_depth,
            start,
            detail="z3 and the concrete re-check disagree on the end of " + repr(symbols),
        )
    side = TABLES if tables_end else DECLARATIVE
    return EquivalenceResult(
        NAME,
        RFC,
        _method(k),
        VIOLATED,
        time.perf_counter() - start,
        depth=k,
        trace=un.trace(found, k),
        detail=f"only the {side} let this trace of length {k} end here (legal end)",
        per_depth=tuple(per_depth),
        counterexample=symbols,
        accepted_by=side,
        broken_rules=() if tables_end else ("legal-end",),
    )


def machine_complete(model: Model, symbols: tuple[Symbol, ...]) -> bool:
    """Whether some run of the concrete machine reads ``symbols`` into an accepting config."""
    machine = machine_for(model)
    configs: set[Config] = {INITIAL_CONFIG}
    for symbol in symbols:
        configs = {succ for c in configs for _, succ in machine.step(c, symbol)}
    return any(accepting(c) for c in configs)


def machine_accepts(model: Model, symbols: tuple[Symbol, ...]) -> bool:
    """Whether every run of the concrete machine can read ``symbols`` (all branches kept)."""
    machine = machine_for(model)
    configs: set[Config] = {INITIAL_CONFIG}
    for symbol in symbols:
        configs = {succ for c in configs for _, succ in machine.step(c, symbol)}
        if not configs:
            return False
    return True


def _result(
    verdict: str, depth: int, per_depth: list[float], start: float, detail: str = ""
) -> EquivalenceResult:
    return EquivalenceResult(
        NAME,
        RFC,
        _method(depth),
        verdict,
        time.perf_counter() - start,
        depth=depth,
        detail=detail,
        per_depth=tuple(per_depth),
    )


def _method(depth: int) -> str:
    return f"bounded equivalence (z3), all traces of length ≤ {depth}"


def _fmt(seconds: list[float]) -> str:
    return " ".join(f"{s:.3f}" for s in seconds)
