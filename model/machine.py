"""The tables made executable: concrete configurations, one step, and the expanded row list.

Why this module exists: ``tables`` is written for people (rows with ``ANY`` sources, guards as
paths); tools need the same rows expanded per state and evaluated on concrete values. This file
does that once, for all of them: the streaming checker (``checker``), the z3 encoding, the trace
generator and the diagrams read ``Machine.rows`` and ``Machine.step`` — there is no second copy
of an ordering rule anywhere. A ``Machine`` wraps one ``Model`` (the RFC tables or a mutant).

A *symbol* is a concrete, abstracted message: ``(sender, type, *attributes)`` where the
attributes are the values of ``SYMBOL_ATTRIBUTES[type]`` in order. A *key* is a symbol whose
attributes may be ``None`` (unknown); ``concretize`` lists the symbols a key stands for.
A *configuration* is ``(state, variables)`` with the variables in ``VAR_NAMES`` order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import cache
from typing import Final

from tlsmodel.model.alphabet import (
    ALERT_KINDS,
    ALERT_LEVELS,
    HANDSHAKE_TYPES,
    MESSAGE_TYPES,
    SENT_BY,
)
from tlsmodel.model.suites import FAMILIES
from tlsmodel.model.tables import (
    ANY,
    BOOL,
    INITIAL_STATE,
    INITIAL_VARIABLES,
    OUTSIDE_GAP,
    SAME,
    SENDER_GUARD,
    TLS12,
    VARIABLES,
    Model,
    Row,
    Value,
)

Symbol = tuple[Value, ...]
Config = tuple[str, tuple[Value, ...]]

# The abstraction of each message's attributes that the guards read, with finite domains.
SYMBOL_ATTRIBUTES: Final[dict[str, tuple[tuple[str, tuple[Value, ...]], ...]]] = {
    "ServerHello": (
        ("family", tuple(FAMILIES)),
        ("resumed", BOOL),
        ("ticket", BOOL),
        ("status", BOOL),
        ("ri", BOOL),
    ),
    "Certificate": (("empty", BOOL), ("fixed_dh", BOOL)),
    "Alert": (("level", ALERT_LEVELS), ("kind", ALERT_KINDS)),
}
VAR_NAMES: Final[tuple[str, ...]] = tuple(VARIABLES)
VAR_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(VAR_NAMES)}
INITIAL_CONFIG: Final[Config] = (INITIAL_STATE, tuple(INITIAL_VARIABLES[v] for v in VAR_NAMES))
FINAL_STATES: Final = frozenset({"ESTABLISHED", "CLOSED"})
_CLOSED_FLAGS: Final = (VAR_INDEX["client_closed"], VAR_INDEX["server_closed"])
_FAM_INDEX: Final = VAR_INDEX["fam"]
_MSG, _VAR, _FAM = 0, 1, 2


def attribute_index(message: str, attribute: str) -> int:
    """Position of ``attribute`` in the symbol of ``message`` (after sender and type)."""
    names = [name for name, _ in SYMBOL_ATTRIBUTES.get(message, ())]
    return 2 + names.index(attribute)


def unknown_key(sender: str, message: str) -> Symbol:
    """The key of a message whose attributes are all unknown."""
    return (sender, message, *[None] * len(SYMBOL_ATTRIBUTES.get(message, ())))


@cache
def concretize(key: Symbol) -> tuple[Symbol, ...]:
    """The symbols a key stands for: every value of each unknown (``None``) attribute.

    A key ``(sender, None)`` is an encrypted handshake message of unknown type: it stands for
    every handshake message that sender may send.
    """
    if key[1] is None:
        return tuple(
            symbol
            for message in HANDSHAKE_TYPES
            if str(key[0]) in SENT_BY[message]
            for symbol in concretize(unknown_key(str(key[0]), message))
        )
    domains = [
        (key[2 + i],) if key[2 + i] is not None else dom
        for i, (_, dom) in enumerate(SYMBOL_ATTRIBUTES.get(str(key[1]), ()))
    ]
    return tuple((key[0], key[1], *values) for values in itertools.product(*domains))


def symbols() -> Iterator[Symbol]:
    """Every concrete symbol of the alphabet (sender × type × attribute values)."""
    for message in MESSAGE_TYPES:
        for sender in SENT_BY[message]:
            yield from concretize(unknown_key(sender, message))


def accepting(config: Config) -> bool:
    """A configuration where a trace may legally end (RFC 5246 §7.2.1, §7.2.2, §7.4.9).

    A completed handshake with nothing in progress, a fatal alert, or a close_notify from
    either side (the peer may close the TCP connection without answering it).
    """
    variables = config[1]
    return (
        config[0] in FINAL_STATES
        or bool(variables[_CLOSED_FLAGS[0]])
        or bool(variables[_CLOSED_FLAGS[1]])
    )


def variables_dict(config: Config) -> dict[str, Value]:
    """The variables of a configuration by name (for reports)."""
    return dict(zip(VAR_NAMES, config[1], strict=True))


class Machine:
    """One model's rows, expanded per state and compiled for evaluation."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.rows: tuple[Row, ...] = tuple(self._expand(model))
        self._by_source: dict[tuple[str, str, str], list[Row]] = {}
        for row in self.rows:
            self._by_source.setdefault((row.state, row.sender, row.message), []).append(row)
        self._compiled = {id(row): (row, self._compile(row)) for row in self.rows}
        self._symbols_from: dict[str, tuple[Symbol, ...]] = {}

    @staticmethod
    def _expand(model: Model) -> Iterator[Row]:
        """ANY / OUTSIDE_GAP rows become one row per source state; SAME becomes that state.

        Each expanded row also carries its sender guard (RFC 5246 §7.2.1), so a consumer that
        evaluates guards (the z3 encoding included) needs nothing but the row.
        """
        live = [s for s in model.states if s != "CLOSED"]
        for row in model.rows:
            if row.state in (ANY, OUTSIDE_GAP):
                sources = [
                    s
                    for s in live
                    if s not in row.unless
                    and not (row.state == OUTSIDE_GAP and model.states[s].gap == row.sender)
                ]
            else:
                sources = [row.state]
            for source in sources:
                yield Row(
                    source,
                    row.sender,
                    row.message,
                    (SENDER_GUARD[row.sender], *row.guard),
                    source if row.target == SAME else row.target,
                    row.effects,
                    row.rfc,
                    row.optional,
                    row.kind,
                )

    @staticmethod
    def _compile(row: Row) -> tuple[tuple, tuple]:
        atoms = []
        for path, allowed in row.guard:
            scope, _, name = path.partition(".")
            if scope == "msg":
                atoms.append((_MSG, attribute_index(row.message, name), allowed))
            elif scope == "var":
                atoms.append((_VAR, VAR_INDEX[name], allowed))
            else:
                atoms.append((_FAM, name, allowed))
        effects = []
        for name, source in row.effects:
            if isinstance(source, str) and source.startswith("msg."):
                effects.append((_MSG, VAR_INDEX[name], attribute_index(row.message, source[4:])))
            else:
                effects.append((_VAR, VAR_INDEX[name], source))
        return tuple(atoms), tuple(effects)

    def _compiled_for(self, row: Row) -> tuple[tuple, tuple]:
        """The compiled guard and effects; rows outside this machine are compiled on the spot."""
        found = self._compiled.get(id(row))
        if found is not None and found[0] is row:
            return found[1]
        return self._compile(row)

    def rows_from(self, state: str, sender: str, message: str) -> list[Row]:
        """The expanded rows that a (state, sender, message) could fire."""
        return self._by_source.get((state, sender, message), [])

    def guard_holds(self, row: Row, variables: tuple[Value, ...], symbol: Symbol) -> bool:
        """Whether every atom of ``row``'s guard holds for these variables and this symbol."""
        for scope, where, allowed in self._compiled_for(row)[0]:
            if scope == _MSG:
                value = symbol[where]
            elif scope == _VAR:
                value = variables[where]
            else:
                family = variables[_FAM_INDEX]
                if family is None:
                    return False
                value = getattr(FAMILIES[str(family)], where)
            if value not in allowed:
                return False
        return True

    def apply_effects(
        self, row: Row, variables: tuple[Value, ...], symbol: Symbol
    ) -> tuple[Value, ...]:
        """The variables after ``row`` fires on ``symbol``."""
        effects = self._compiled_for(row)[1]
        if not effects:
            return variables
        new = list(variables)
        for scope, index, source in effects:
            new[index] = symbol[source] if scope == _MSG else source
        return tuple(new)

    def step(self, config: Config, symbol: Symbol) -> list[tuple[Row, Config]]:
        """Every (row, next configuration) that ``symbol`` can take from ``config``."""
        state, variables = config
        return [
            (row, (row.target, self.apply_effects(row, variables, symbol)))
            for row in self._by_source.get((state, str(symbol[0]), str(symbol[1])), ())
            if self.guard_holds(row, variables, symbol)
        ]

    def symbols_from(self, state: str) -> tuple[Symbol, ...]:
        """The symbols that some row from ``state`` reads (the others never fire there)."""
        cached = self._symbols_from.get(state)
        if cached is None:
            pairs = dict.fromkeys((r.sender, r.message) for r in self.rows if r.state == state)
            cached = tuple(
                symbol
                for sender, message in pairs
                for symbol in concretize(unknown_key(sender, message))
            )
            self._symbols_from[state] = cached
        return cached


_MACHINES: dict[int, Machine] = {}


def machine_for(model: Model = TLS12) -> Machine:
    """The (cached) machine of a model."""
    found = _MACHINES.get(id(model))
    if found is None or found.model is not model:
        found = _MACHINES[id(model)] = Machine(model)
    return found


def role_view(role: str, model: Model = TLS12) -> tuple[tuple[str, str, str, str], ...]:
    """The model from one endpoint's side: (state, "send" | "recv", message, target) per row.

    The composite tables already say who sends each message; a role's view is the same rows
    with the direction named from that role (what a client / server may send and receive next).
    """
    return tuple(
        (row.state, "send" if row.sender == role else "recv", row.message, row.target)
        for row in machine_for(model).rows
    )
