"""A trace drawn on the state diagram: its path, and where it left the model.

Why both the checker and ``Machine.step``: the verdict (ok / deviation, the legal alternatives,
the rule) must be exactly the oracle's, so it comes from ``tlsmodel.model.checker``; the path,
which rows fired from which configurations, is not part of the checker's answer, so it is
followed here with the same ``Machine.step`` over the same subset of configurations.

The base diagram is the projection on the families the trace's ServerHellos name (small and
legible), or the merged view when no ServerHello names a cipher suite.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from tlsmodel.diagrams.draw import Overlay, atom_text, edge_key, message_text
from tlsmodel.diagrams.views import (
    ANYTIME,
    Choice,
    Edge,
    View,
    common_atoms,
    merged_view,
    projected_view,
)
from tlsmodel.model.checker import Checker, Deviation, TraceVerdict
from tlsmodel.model.machine import FINAL_STATES, INITIAL_CONFIG, Config, Machine, concretize
from tlsmodel.model.tables import Atom, Row
from tlsmodel.model.trace import Trace, describe, message_key


@dataclass(frozen=True, slots=True)
class Step:
    """One message of the trace as checked: its answer and the states it may lead to."""

    index: int
    message: dict[str, Any]
    answer: str  # ok | complete | deviation | unchecked (after the deviation)
    states: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Checked:
    """A trace, its per-message steps, the checker's verdict and the overlay to draw."""

    trace: Trace
    steps: tuple[Step, ...]
    verdict: TraceVerdict
    view: View
    overlay: Overlay


def _families(trace: Trace) -> tuple[str, ...]:
    found = []
    for message in trace.messages:
        key = message_key(message)
        if key[1] == "ServerHello" and key[2] is not None:
            found.append(str(key[2]))
    return tuple(dict.fromkeys(found))


def _edge_of(row: Row, common: dict[str, tuple[Atom, ...]]) -> Edge:
    guard = tuple(a for a in row.guard if a not in common[row.sender])
    return Edge(
        row.state,
        row.target,
        row.sender,
        row.message,
        row.kind,
        row.optional,
        (guard,) if guard else (),
        row.effects,
        (row.rfc,),
    )


def _failing(machine: Machine, rows: list[Row], configs: list[Config], key: tuple) -> list[Atom]:
    """Atoms of the deviating message's rows that fail for every configuration and value."""
    failing: list[Atom] = []
    for row in rows:
        for atom in row.guard:
            probe = replace(row, guard=(atom,))
            if atom not in failing and all(
                not machine.guard_holds(probe, c[1], s)
                for c in configs
                if c[0] == row.state
                for s in concretize(key)
            ):
                failing.append(atom)
    return failing


def check_trace(machine: Machine, trace: Trace) -> Checked:
    """Check ``trace`` with the streaming checker and follow its path through the rows."""
    families = _families(trace)
    title = f"trace {trace.id}"
    view = (
        projected_view(
            machine, Choice(families=families), f"{title}: family " + ", ".join(families)
        )
        if families
        else None
    ) or merged_view(machine, title)
    common = common_atoms(machine)
    # a projection may draw an optional row as required (no way around it there): match the
    # rows the trace fires to drawn edges without the optional flag
    drawn = {edge_key(e)[:5]: edge_key(e) for e in view.edges}
    live_final = {e.source for e in view.edges if e.kind == ANYTIME}
    checker = Checker(machine.model)
    configs: set[Config] = {INITIAL_CONFIG}
    answers: list[str] = []
    fired: list[list[tuple[Config, Row, Config]]] = []
    deviation: Deviation | None = None
    for message in trace.messages:
        if deviation is not None:
            answers.append("unchecked")
            continue
        key = message_key(message)
        answer = checker.feed(message)
        answers.append(answer.kind)
        if isinstance(answer, Deviation):
            deviation = answer
            continue
        now = [
            (config, row, succ)
            for config in sorted(configs)
            for symbol in concretize(key)
            for row, succ in machine.step(config, symbol)
        ]
        fired.append(now)
        configs = {succ for _, _, succ in now}
    # keep only the branches of the subset construction that the rest of the trace confirms
    alive = configs
    for index in reversed(range(len(fired))):
        fired[index] = [f for f in fired[index] if f[2] in alive]
        alive = {f[0] for f in fired[index]}
    steps: list[Step] = []
    for index, message in enumerate(trace.messages):
        if answers[index] == "deviation" and deviation is not None:
            states = deviation.states
        else:
            states = tuple(sorted({f[2][0] for f in fired[index]})) if index < len(fired) else ()
        steps.append(Step(index, message, answers[index], states))
    path: dict[tuple, list[int]] = {}
    extra: dict[tuple, Edge] = {}
    hidden: dict[str, dict[str, None]] = {}  # "#i sender: message" -> states it was taken in
    for index, now in enumerate(fired):
        for _, row, _ in now:
            if row.kind == ANYTIME and row.state not in live_final:
                taken = f"#{index} {message_text(row.sender, row.message, 'composite')}"
                hidden.setdefault(taken, {})[row.state] = None
                continue
            edge = _edge_of(row, common)
            ekey = drawn.get(edge_key(edge)[:5])
            if ekey is None:
                ekey = edge_key(edge)
                extra.setdefault(ekey, edge)
            if index not in path.setdefault(ekey, []):
                path[ekey].append(index)
    verdict = checker.finish()
    needed = {name for e in extra.values() for name in (e.source, e.target)}
    needed.update(deviation.states if deviation is not None else ())
    if extra or not needed <= set(view.nodes):
        nodes = tuple(s for s in machine.model.states if s in needed or s in view.nodes)
        view = View(
            view.title,
            nodes,
            view.final | (needed & FINAL_STATES),
            view.edges + tuple(extra.values()),
            view.notes,
            view.common,
        )
    overlay = _overlay(machine, view, trace, deviation, sorted(configs), path, hidden, verdict)
    return Checked(trace, tuple(steps), verdict, overlay[0], overlay[1])


def _overlay(
    machine: Machine,
    view: View,
    trace: Trace,
    deviation: Deviation | None,
    configs: list[Config],
    path: dict[tuple, list[int]],
    hidden: dict[str, dict[str, None]],
    verdict: TraceVerdict,
) -> tuple[View, Overlay]:
    caption = [f"verdict: {verdict.verdict}"]
    if verdict.assumptions:
        caption.append("assuming " + "; ".join(verdict.assumptions))
    if hidden:
        caption.append(
            "anytime rows taken (see legend): "
            + "; ".join(f"{taken} in {', '.join(states)}" for taken, states in hidden.items())
        )
    steps = {k: tuple(v) for k, v in path.items()}
    if deviation is None or deviation.message is None:
        return view, Overlay(steps=steps, caption="\n".join(wrap_words(caption, 110)))
    key = message_key(deviation.message)
    sender, message = str(key[0]), str(deviation.message.get("type"))
    node = f"deviation-{deviation.at}"
    lines = [f"#{deviation.at} ✗ {describe(deviation.message)}"]
    rows = [r for s in deviation.states for r in machine.rows_from(s, sender, message)]
    failing = _failing(machine, rows, configs, key)
    if failing:
        lines.append("guard fails: " + " ∧ ".join(atom_text(a) for a in failing))
    lines.append("legal here: " + ", ".join(f"{s} {m}" for s, m in deviation.expected))
    lines.append(deviation.rule)
    expected = set(deviation.expected)
    alternatives = frozenset(
        edge_key(e)
        for e in view.edges
        if e.source in deviation.states and (e.sender, e.message) in expected
    )
    red = tuple(
        Edge(state, node, sender, message, "handshake", False, (), (), (deviation.rule,))
        for state in deviation.states
        if state in view.nodes
    )
    caption[0] = f"verdict: deviates at #{deviation.at}: {describe(deviation.message)}"
    return view, Overlay(
        steps,
        alternatives,
        red,
        ((node, "\n".join(wrap_words(lines))),),
        "\n".join(wrap_words(caption, 110)),
    )


def wrap_words(lines: list[str], width: int = 60) -> list[str]:
    """Long texts broken at spaces (the red deviation node, the chart's notes stay narrow)."""
    out: list[str] = []
    for line in lines:
        current = ""
        for word in line.split(" "):
            if current and len(current) + 1 + len(word) > width:
                out.append(current)
                current = "  " + word
            else:
                current = f"{current} {word}" if current else word
        out.append(current)
    return out
