"""What a diagram shows: the model's expanded rows collapsed to control states, under a choice.

Why this module exists: a diagram must not know anything about TLS ordering of its own, or it
would drift from the tables the proofs and the oracle read. Everything here is computed from
``machine_for(model).rows`` and ``Machine.step``: the *merged* view is the table itself (every
row, every guard); a *projection* fixes some symbol attributes (the family a ServerHello selects,
``resumed``/``ticket`` for ``--resume``, the client's Certificate for ``--client-auth``), explores
the configurations reachable under that restriction, and collapses them to control states. A
guard atom is shown on a projected edge only where it still decides something, i.e. where some
reachable configuration and allowed message would make it fail.

Rows of kind ``anytime`` (alerts, application data, an ignored HelloRequest) fire in almost
every state; drawing them everywhere would bury the handshake, so they become ``Note`` lines
(where they apply, where not) and are drawn as edges only at live final states (ESTABLISHED).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from tlsmodel.model.machine import (
    FINAL_STATES,
    INITIAL_CONFIG,
    VAR_INDEX,
    Config,
    Machine,
    Symbol,
    accepting,
    attribute_index,
)
from tlsmodel.model.suites import FAMILIES
from tlsmodel.model.tables import Atom, Row, Value

Guard = tuple[Atom, ...]
ANYTIME = "anytime"

# Named sets of families for the committed per-family diagrams (a choice of presentation, not
# of ordering: each family's profile still comes from ``FAMILIES``). ``PSK`` draws the four
# RFC 4279/5489 key exchanges together; each edge says which of them it applies to.
FAMILY_GROUPS: dict[str, tuple[str, ...]] = {
    "RSA": ("RSA",),
    "DHE": ("DHE_RSA", "DHE_DSS"),
    "ECDHE": ("ECDHE_RSA", "ECDHE_ECDSA"),
    "static-DH": ("DH_RSA", "DH_DSS", "ECDH_RSA", "ECDH_ECDSA"),
    "anon": ("DH_anon", "ECDH_anon"),
    "PSK": ("PSK", "DHE_PSK", "ECDHE_PSK", "RSA_PSK"),
}


@dataclass(frozen=True, slots=True)
class Choice:
    """A restriction of the alphabet: which families, which client auth, which resumption.

    Empty fields restrict nothing; the empty choice is the merged view.
    """

    families: tuple[str, ...] = ()
    client_auth: str | None = None  # none | empty | cert
    resume: str | None = None  # none | id | ticket

    def is_empty(self) -> bool:
        """No restriction at all: the diagram is the whole table."""
        return not self.families and self.client_auth is None and self.resume is None

    def allows(self, symbol: Symbol) -> bool:
        """Whether a message with these attributes is possible under the choice."""
        sender, message = symbol[0], symbol[1]
        if message == "ServerHello":
            family = symbol[attribute_index("ServerHello", "family")]
            resumed = symbol[attribute_index("ServerHello", "resumed")]
            ticket = symbol[attribute_index("ServerHello", "ticket")]
            if self.families and family not in self.families:
                return False
            if self.resume == "none":
                return resumed is False
            if self.resume in ("id", "ticket"):
                return resumed is True and ticket is (self.resume == "ticket")
        if self.client_auth == "none" and (
            message == "CertificateRequest" or (message == "Certificate" and sender == "client")
        ):
            return False
        if self.needs_client_certificate() and (sender, message) == ("client", "Certificate"):
            empty = symbol[attribute_index("Certificate", "empty")]
            fixed_dh = symbol[attribute_index("Certificate", "fixed_dh")]
            if self.client_auth == "empty":
                return empty is True and fixed_dh is False
            return empty is False
        return True

    def needs_client_certificate(self) -> bool:
        """``empty``/``cert`` mean every full handshake carries that client Certificate."""
        return self.client_auth in ("empty", "cert")


@dataclass(frozen=True, slots=True)
class Edge:
    """One drawn transition: rows with the same source, sender, message, target and kind.

    ``alternatives`` is the guard shown: a disjunction of conjunctions, ``()`` if unconditional.
    ``only_families`` lists the families it fires under when that is a proper subset of the
    choice's families (a group projection such as PSK).
    """

    source: str
    target: str
    sender: str
    message: str
    kind: str
    optional: bool
    alternatives: tuple[Guard, ...]
    effects: tuple[tuple[str, Value], ...]
    rfc: tuple[str, ...]
    only_families: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Note:
    """An ``anytime`` rule summarised once: its guard, effect, and the states it skips."""

    sender: str
    message: str
    guard: Guard
    target: str | None  # None: the state does not change
    effects: tuple[tuple[str, Value], ...]
    rfc: str
    skipped: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class View:
    """Everything ``draw`` needs: nodes in table order, sorted edges, notes, the common guards."""

    title: str
    nodes: tuple[str, ...]
    final: frozenset[str]
    edges: tuple[Edge, ...]
    notes: tuple[Note, ...]
    common: tuple[tuple[str, Guard], ...]  # sender -> atoms every row of that sender carries


def common_atoms(machine: Machine) -> dict[str, Guard]:
    """Atoms that every row of a sender carries (the close_notify sender guard): shown once."""
    common: dict[str, Guard] = {}
    for row in machine.rows:
        if row.sender in common:
            common[row.sender] = tuple(a for a in common[row.sender] if a in row.guard)
        else:
            common[row.sender] = row.guard
    return common


def _strip(row: Row, common: dict[str, Guard]) -> Guard:
    return tuple(a for a in row.guard if a not in common[row.sender])


def _live_final(machine: Machine) -> frozenset[str]:
    """Final states that still have rows (ESTABLISHED), where anytime rows are drawn."""
    sources = {row.state for row in machine.rows}
    return frozenset(s for s in FINAL_STATES if s in sources)


def _edge_key(row: Row) -> tuple[str, str, str, str, str, bool]:
    return (row.state, row.target, row.sender, row.message, row.kind, row.optional)


def _sorted_edges(machine: Machine, edges: list[Edge]) -> tuple[Edge, ...]:
    order = {name: i for i, name in enumerate(machine.model.states)}
    return tuple(
        sorted(
            edges,
            key=lambda e: (
                order[e.source],
                order[e.target],
                e.sender,
                e.message,
                e.kind,
                e.optional,
            ),
        )
    )


def _notes(
    machine: Machine, rows: list[Row], nodes: set[str], common: dict[str, Guard]
) -> tuple[Note, ...]:
    """Group the anytime rows by what they do; list the drawn live states each one skips."""
    groups: dict[tuple, set[str]] = defaultdict(set)
    for row in rows:
        target = None if row.target == row.state else row.target
        groups[(row.sender, row.message, _strip(row, common), target, row.effects, row.rfc)].add(
            row.state
        )
    live = {row.state for row in machine.rows if row.state in nodes}
    order = {name: i for i, name in enumerate(machine.model.states)}
    notes = [
        Note(
            sender,
            message,
            guard,
            target,
            effects,
            rfc,
            tuple(sorted(live - states, key=order.__getitem__)),
        )
        for (sender, message, guard, target, effects, rfc), states in groups.items()
    ]
    return tuple(sorted(notes, key=lambda n: (n.message, n.sender, n.target or "", repr(n.guard))))


def merged_view(machine: Machine, title: str) -> View:
    """The whole table: every state, every row, every guard (minus the per-sender common one)."""
    common = common_atoms(machine)
    live_final = _live_final(machine)
    grouped: dict[tuple, list[Row]] = defaultdict(list)
    anytime: list[Row] = []
    for row in machine.rows:
        if row.kind == ANYTIME:
            anytime.append(row)
            if row.state not in live_final:
                continue
        grouped[_edge_key(row)].append(row)
    edges = [_edge(rows, tuple(_strip(r, common) for r in rows), ()) for rows in grouped.values()]
    nodes = tuple(machine.model.states)
    return View(
        title,
        nodes,
        FINAL_STATES & set(nodes),
        _sorted_edges(machine, edges),
        _notes(machine, anytime, set(nodes), common),
        tuple(sorted(common.items())),
    )


def _edge(rows: list[Row], alternatives: tuple[Guard, ...], families: tuple[str, ...]) -> Edge:
    first = rows[0]
    if any(not alt for alt in alternatives):
        alternatives = ()
    effects = tuple(dict.fromkeys(e for r in rows for e in r.effects))
    rfc = tuple(dict.fromkeys(r.rfc for r in rows))
    return Edge(
        first.state,
        first.target,
        first.sender,
        first.message,
        first.kind,
        first.optional,
        tuple(dict.fromkeys(alternatives)),
        effects,
        rfc,
        families,
    )


Node = tuple[Config, bool]  # a configuration and "a full handshake still owes the client auth"
Firing = tuple[Node, Row, Symbol, Node]


def _allowed_symbols(machine: Machine, choice: Choice) -> dict[str, tuple[Symbol, ...]]:
    """Per state, the symbols some row reads there that the choice allows (computed once)."""
    return {
        state: tuple(s for s in machine.symbols_from(state) if choice.allows(s))
        for state in machine.model.states
    }


def explore(machine: Machine, choice: Choice) -> tuple[list[Firing], set[Node]]:
    """Firings from configurations reachable under ``choice`` that can still complete.

    With ``--client-auth empty|cert`` a full handshake (ServerHello with ``resumed`` false) may
    only reach a live final state after the client sent that Certificate. A configuration is
    kept if a completed handshake (a live final state, nothing owed) is reachable from it; a
    firing is kept if it starts in a kept configuration and ends in one, or ends the trace
    legally (``machine.accepting``: a fatal alert, a close_notify). The second result is the
    set of kept configurations.
    """
    live_final = _live_final(machine)
    allowed = _allowed_symbols(machine, choice)
    start: Node = (INITIAL_CONFIG, False)
    seen = {start}
    frontier = [start]
    firings: list[Firing] = []
    while frontier:
        nxt: list[Node] = []
        for node in frontier:
            config, owed = node
            for symbol in allowed[config[0]]:
                for row, succ in machine.step(config, symbol):
                    still = owed
                    if choice.needs_client_certificate():
                        if symbol[1] == "ServerHello":
                            still = symbol[attribute_index("ServerHello", "resumed")] is False
                        elif symbol[:2] == ("client", "Certificate"):
                            still = False
                    if still and succ[0] in live_final and succ[0] != config[0]:
                        continue
                    after: Node = (succ, still)
                    firings.append((node, row, symbol, after))
                    if after not in seen:
                        seen.add(after)
                        nxt.append(after)
        frontier = nxt
    back: dict[Node, list[Node]] = defaultdict(list)
    for before, _, _, after in firings:
        back[after].append(before)
    alive = {node for node in seen if node[0][0] in live_final and not node[1]}
    stack = list(alive)
    while stack:
        for before in back[stack.pop()]:
            if before not in alive:
                alive.add(before)
                stack.append(before)
    kept = [f for f in firings if f[0] in alive and (f[3] in alive or accepting(f[3][0]))]
    return kept, alive


def projected_view(machine: Machine, choice: Choice, title: str) -> View | None:
    """The control states and rows reachable under ``choice``; ``None`` if nothing completes
    (or, with ``--client-auth empty|cert``, no handshake carries that client Certificate)."""
    firings, alive = explore(machine, choice)
    if not firings or (
        choice.needs_client_certificate()
        and not any(symbol[:2] == ("client", "Certificate") for _, _, symbol, _ in firings)
    ):
        return None
    common = common_atoms(machine)
    live_final = _live_final(machine)
    pool: dict[tuple[str, str, str], set[tuple[tuple[Value, ...], Symbol]]] = defaultdict(set)
    grouped: dict[tuple, dict[int, Row]] = defaultdict(dict)
    families: dict[tuple, set[str]] = defaultdict(set)
    anytime: dict[int, Row] = {}
    nodes: set[str] = set()
    allowed = _allowed_symbols(machine, choice)
    for (state, variables), _ in alive:
        for symbol in allowed[state]:
            pool[(state, str(symbol[0]), str(symbol[1]))].add((variables, symbol))
    for before, row, _, after in firings:
        nodes.update((before[0][0], after[0][0]))
        if row.kind == ANYTIME:
            anytime[id(row)] = row
            if row.state not in live_final:
                continue
        grouped[_edge_key(row)][id(row)] = row
        family = after[0][1][VAR_INDEX["fam"]]
        if family is not None:
            families[_edge_key(row)].add(str(family))

    def residual(row: Row) -> Guard:
        """The atoms of ``row`` that some allowed message in some kept configuration fails."""
        seen = pool[(row.state, row.sender, row.message)]
        probes = [(atom, replace(row, guard=(atom,))) for atom in _strip(row, common)]
        return tuple(
            atom
            for atom, probe in probes
            if any(not machine.guard_holds(probe, v, s) for v, s in seen)
        )

    chosen = set(choice.families)
    edges = []
    position = {id(row): i for i, row in enumerate(machine.rows)}
    skip = _Omittable(firings, live_final)
    for key, rows_by_id in grouped.items():
        rows = sorted(rows_by_id.values(), key=lambda r: position[id(r)])
        fams = families[key]
        only = tuple(f for f in FAMILIES if f in fams) if len(chosen) > 1 and fams < chosen else ()
        edge = _edge(rows, tuple(residual(r) for r in rows), only)
        if (
            edge.optional
            and edge.kind != ANYTIME
            and not skip(edge.source, edge.sender, edge.message)
        ):
            edge = replace(edge, optional=False)
        edges.append(edge)
    order = list(machine.model.states)
    ordered = tuple(s for s in order if s in nodes)
    return View(
        title,
        ordered,
        FINAL_STATES & nodes,
        _sorted_edges(machine, edges),
        _notes(machine, list(anytime.values()), nodes, common),
        tuple(sorted(common.items())),
    )


class _Omittable:
    """Whether a message the table marks optional can really be left out under a choice.

    ``Row.optional`` says the RFC lets the sender omit the message *somewhere*; under DHE the
    ServerKeyExchange row is still optional in the table, but its guard removes every way around
    it. A message is omittable at a state if, from some kept configuration there, the handshake
    can reach a live final state (ESTABLISHED) without it and without anytime rows.
    """

    def __init__(self, firings: list[Firing], live_final: frozenset[str]) -> None:
        self.live_final = live_final
        self.succ: dict[Node, list[tuple[Row, Node]]] = defaultdict(list)
        self.at: dict[str, list[Node]] = defaultdict(list)
        for before, row, _, after in firings:
            if row.kind != ANYTIME:
                self.succ[before].append((row, after))
        for before in self.succ:
            self.at[before[0][0]].append(before)

    def __call__(self, state: str, sender: str, message: str) -> bool:
        if state in self.live_final:
            return True
        seen = set(self.at[state])
        stack = list(seen)
        while stack:
            for row, after in self.succ[stack.pop()]:
                if (row.sender, row.message) == (sender, message) or after in seen:
                    continue
                if after[0][0] in self.live_final:
                    return True
                seen.add(after)
                stack.append(after)
        return False
