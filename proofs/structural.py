"""Properties of the tables as a whole: determinism, totality, reachability, deadlock freedom.

Why separate from ``properties``: these are not histories of one trace but statements about the
relation itself, decided by other means —

* determinism and totality are z3 validity checks over *every* well-formed configuration and
  symbol (reachable or not), which is stronger than over reachable ones and needs no invariant;
* reachability of every state and row, and the absence of deadlocks, are decided on the exact
  reachable configuration graph, built by exhaustive breadth-first search with
  ``Machine.step`` (the configuration space is finite, so the search is complete: a proof for
  all trace lengths, and each witness is a shortest trace).
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass

import z3
from tlsmodel.model.machine import INITIAL_CONFIG, Config, Symbol, accepting, machine_for
from tlsmodel.model.tables import Model, Row
from tlsmodel.proofs.encoding import Config as Config_
from tlsmodel.proofs.encoding import Sym as Sym_
from tlsmodel.proofs.encoding import decode_symbol, encoding_for, new_config, new_symbol
from tlsmodel.proofs.results import PROVED, UNKNOWN, VIOLATED, Result, Trace

COMPLETED_STATE = "ESTABLISHED"


def _pairs(model: Model) -> tuple[Config_, Sym_, list[tuple[Row, Row, z3.BoolRef]]]:
    """Every pair of rows with a common source, and "both fire", over fresh constants."""
    enc = encoding_for(model)
    c, s = new_config("d"), new_symbol("d")
    groups: dict[tuple[str, str, str], list[Row]] = {}
    for row in enc.rows:
        groups.setdefault((row.state, row.sender, row.message), []).append(row)
    fired = {id(row): enc.fires(row, c, s) for row in enc.rows}
    pairs = [
        (a, b, z3.And(fired[id(a)], fired[id(b)]))
        for rows in groups.values()
        for a, b in itertools.combinations(rows, 2)
    ]
    return c, s, pairs


def determinism_query(model: Model) -> list[z3.BoolRef]:
    """Satisfiable iff two rows fire on one well-formed configuration and symbol."""
    c, s, pairs = _pairs(model)
    enc = encoding_for(model)
    return [enc.wellformed(c), s.wellformed(), z3.Or([p for _, _, p in pairs])]


def totality_query(model: Model) -> list[z3.BoolRef]:
    """Satisfiable iff some row leads a well-formed configuration outside the domains."""
    enc = encoding_for(model)
    c, _, n, trans = enc.relation()
    return [enc.wellformed(c), trans, z3.Not(enc.wellformed(n))]


def determinism(model: Model, timeout_ms: int = 10_000) -> Result:
    """At most one row fires for any well-formed configuration and symbol (z3, all configs)."""
    start = time.perf_counter()
    enc = encoding_for(model)
    c, s, pairs = _pairs(model)
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(enc.wellformed(c), s.wellformed(), z3.Or([p for _, _, p in pairs]))
    answer = solver.check()
    method = "z3 SAT, all well-formed configurations"
    rfc = "RFC 5246 §7.3-7.4 (one reading per message)"
    if answer == z3.unsat:
        return Result(
            "determinism",
            rfc,
            method,
            PROVED,
            time.perf_counter() - start,
            detail=f"{len(pairs)} row pairs with a common source checked",
        )
    if answer != z3.sat:
        return Result(
            "determinism",
            rfc,
            method,
            UNKNOWN,
            time.perf_counter() - start,
            detail=solver.reason_unknown(),
        )
    found = solver.model()
    a, b = next((a, b) for a, b, p in pairs if z3.is_true(found.eval(p)))
    config, symbol = enc.decode_config(found, c), decode_symbol(found, s)
    return Result(
        "determinism",
        rfc,
        method,
        VIOLATED,
        time.perf_counter() - start,
        trace=Trace(((config, symbol),), config),
        detail=f"two rows fire: {a.rfc!r} and {b.rfc!r}",
    )


def totality(model: Model, timeout_ms: int = 10_000) -> Result:
    """Every configuration × symbol has a verdict, and that verdict is well defined.

    Proved: for every well-formed configuration and symbol, either no row fires (the checker
    answers *deviation* and cites ``STATES[state].rule``, which every state has) or every
    successor is a well-formed configuration (declared state, variables in their domains).
    """
    start = time.perf_counter()
    name, rfc = "totality", "RFC 5246 §7.3 (every message is accepted or an error)"
    method = "z3 validity, all well-formed configurations"
    missing = [s.name for s in model.states.values() if not s.rule.strip()]
    undeclared = [r for r in machine_for(model).rows if r.target not in model.states]
    if missing or undeclared:
        detail = f"states without a rule: {missing}; rows to undeclared states: {undeclared}"
        return Result(name, rfc, method, VIOLATED, time.perf_counter() - start, detail=detail)
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(*totality_query(model))
    answer = solver.check()
    verdict = PROVED if answer == z3.unsat else VIOLATED if answer == z3.sat else UNKNOWN
    detail = (
        f"{len(model.states)} states each cite a rule; successors stay well formed"
        if verdict == PROVED
        else solver.reason_unknown()
        if verdict == UNKNOWN
        else "a row leads outside the declared domains"
    )
    return Result(name, rfc, method, verdict, time.perf_counter() - start, detail=detail)


@dataclass
class Graph:
    """The reachable configuration graph of one model (exhaustive BFS)."""

    parents: dict[Config, tuple[Symbol, Config] | None]
    first_fire: dict[int, tuple[Config, Symbol]]
    preds: dict[Config, list[tuple[Config, Symbol]]]

    def path(self, config: Config) -> list[tuple[Config, Symbol]]:
        """The shortest trace to ``config`` as (configuration before, symbol) steps."""
        steps: list[tuple[Config, Symbol]] = []
        link = self.parents[config]
        while link is not None:
            symbol, before = link
            steps.append((before, symbol))
            link = self.parents[before]
        steps.reverse()
        return steps

    def trace_to(self, config: Config) -> Trace:
        """``path`` as a ``Trace``."""
        return Trace(tuple(self.path(config)), config)

    def witness_of(self, model: Model, row: Row) -> Trace | None:
        """A shortest trace whose last step fires the expanded ``row`` (None: it never fires)."""
        hit = self.first_fire.get(id(row))
        if hit is None:
            return None
        config, symbol = hit
        after = next(
            succ for fired, succ in machine_for(model).step(config, symbol) if fired is row
        )
        return Trace((*self.path(config), (config, symbol)), after)


def row_witnesses(model: Model) -> dict[Row, Trace]:
    """For every table row, a shortest trace that ends by firing one of its expansions."""
    graph = explore(model)
    best: dict[tuple, Trace] = {}
    for row in machine_for(model).rows:
        trace = graph.witness_of(model, row)
        key = _origin(row)
        if trace is not None and (key not in best or len(trace.steps) < len(best[key].steps)):
            best[key] = trace
    return {
        row: best[_origin(row, expanded=False)]
        for row in model.rows
        if _origin(row, expanded=False) in best
    }


def explore(model: Model) -> Graph:
    """Breadth-first search of every reachable configuration, recording edges and first fires."""
    machine = machine_for(model)
    parents: dict[Config, tuple[Symbol, Config] | None] = {INITIAL_CONFIG: None}
    first_fire: dict[int, tuple[Config, Symbol]] = {}
    preds: dict[Config, list[tuple[Config, Symbol]]] = {}
    frontier = deque([INITIAL_CONFIG])
    while frontier:
        config = frontier.popleft()
        for symbol in machine.symbols_from(config[0]):
            for row, succ in machine.step(config, symbol):
                first_fire.setdefault(id(row), (config, symbol))
                preds.setdefault(succ, []).append((config, symbol))
                if succ not in parents:
                    parents[succ] = (symbol, config)
                    frontier.append(succ)
    return Graph(parents, first_fire, preds)


def _backward(graph: Graph, goals: list[Config], skip_alerts: bool) -> set[Config]:
    """The configurations from which some goal is reachable (without Alerts, if asked)."""
    seen = set(goals)
    todo = deque(goals)
    while todo:
        config = todo.popleft()
        for before, symbol in graph.preds.get(config, ()):
            if before in seen or (skip_alerts and symbol[1] == "Alert"):
                continue
            seen.add(before)
            todo.append(before)
    return seen


def _origin(row: Row, expanded: bool = True) -> tuple:
    """What identifies a table row in its expansions (which add the sender guard first)."""
    guard = row.guard[1:] if expanded else row.guard
    return (row.sender, row.message, guard, row.effects, row.rfc, row.kind)


def graph_results(model: Model) -> list[Result]:
    """states-reachable, rows-reachable, no-deadlock and completion-without-alerts."""
    start = time.perf_counter()
    graph = explore(model)
    built = time.perf_counter() - start
    configs = list(graph.parents)
    method = f"exhaustive BFS ({len(configs)} configurations), all lengths"
    results = []

    t0 = time.perf_counter()
    first_in: dict[str, Config] = {}
    for config in configs:
        first_in.setdefault(config[0], config)
    missing = [s for s in model.states if s not in first_in]
    longest = max((first_in[s] for s in first_in), key=lambda c: len(graph.path(c)))
    results.append(
        Result(
            "states-reachable",
            "RFC 5246 §7.3 (every state occurs)",
            method,
            VIOLATED if missing else PROVED,
            built + time.perf_counter() - t0,
            witness=None if missing else graph.trace_to(longest),
            detail=f"unreachable: {missing}"
            if missing
            else f"{len(first_in)} states, each with a shortest witness trace",
        )
    )

    t0 = time.perf_counter()
    expanded = machine_for(model).rows
    fired_keys = {_origin(r) for r in expanded if id(r) in graph.first_fire}
    dead = [r for r in model.rows if _origin(r, expanded=False) not in fired_keys]
    idle = sum(1 for r in expanded if id(r) not in graph.first_fire)
    results.append(
        Result(
            "rows-reachable",
            "RFC 5246 §7.3-7.4 (no dead row)",
            method,
            VIOLATED if dead else PROVED,
            time.perf_counter() - t0,
            detail="never fire: " + "; ".join(f"{r.state} {r.sender} {r.message}" for r in dead)
            if dead
            else f"all {len(model.rows)} table rows fire on a shortest witness trace "
            f"({len(expanded) - idle} of {len(expanded)} expanded per-state instances)",
        )
    )

    for name, rfc, goals, skip in (
        (
            "no-deadlock",
            "RFC 5246 §7.2, §7.3 (every run can end legally)",
            [c for c in configs if accepting(c)],
            False,
        ),
        (
            "completion-without-alerts",
            "RFC 5246 §7.3, §7.4.9 (every open handshake can finish)",
            [c for c in configs if c[0] == COMPLETED_STATE],
            True,
        ),
    ):
        t0 = time.perf_counter()
        good = _backward(graph, goals, skip)
        stuck = [c for c in configs if c not in good and not accepting(c)]
        trace = graph.trace_to(min(stuck, key=lambda c: len(graph.path(c)))) if stuck else None
        results.append(
            Result(
                name,
                rfc,
                method,
                VIOLATED if stuck else PROVED,
                time.perf_counter() - t0,
                trace=trace,
                detail=f"{len(stuck)} stuck configurations"
                if stuck
                else f"every reachable non-accepting configuration reaches "
                f"{'an accepting one' if not skip else COMPLETED_STATE + ' without alerts'}",
            )
        )
    return results
