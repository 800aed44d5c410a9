"""The streaming checker: feed a connection's messages one at a time, get a verdict for each.

Why a subset construction: captured traces often lack attributes (a capture without keys cannot
see the ServerHello extensions of a renegotiation, or which encrypted message was sent). The
checker never guesses: it tracks the *set* of configurations the model could be in, follows every
branch an unknown attribute allows, and at the end reports which assumptions the verdict needed.

Why it is fast: the set of configurations is interned as a small integer and the successor of
(set, message key) is computed once per model and memoized (a lazily built DFA), so checking a
message costs one dictionary lookup. Deviation details (the legal alternatives, the rule) are
worked out only when a deviation happens.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from tlsmodel.model.machine import (
    INITIAL_CONFIG,
    SYMBOL_ATTRIBUTES,
    VAR_INDEX,
    Config,
    Machine,
    Symbol,
    accepting,
    concretize,
    machine_for,
)
from tlsmodel.model.tables import REJECTIONS, TLS12, Model
from tlsmodel.model.trace import PLAIN_KEYS, UNKNOWN_ENCRYPTED, TraceError, message_key

_DEAD: Final = -1


@dataclass(frozen=True, slots=True)
class Answer:
    """What the checker says after one message: ``ok``, ``complete`` or ``deviation``."""

    kind: str

    @property
    def ok(self) -> bool:
        """True unless the message deviates."""
        return self.kind != "deviation"


OK: Final = Answer("ok")
COMPLETE: Final = Answer("complete")  # this message completed a handshake


@dataclass(frozen=True, slots=True)
class Deviation(Answer):
    """The first message the model does not allow, what it would have allowed, and why."""

    at: int
    message: Mapping[str, Any] | None
    expected: tuple[tuple[str, str], ...]
    rule: str
    states: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TraceVerdict:
    """The verdict on a whole trace (the oracle's unit of report).

    ``verdict`` is ``conforms`` (a completed handshake or a legal end by alert), ``incomplete``
    (a legal prefix that stops) or ``deviates`` (``at`` is the 0-based index of the first illegal
    message). ``assumptions`` lists what unknown attributes had to be for the verdict to hold.
    """

    verdict: str
    length: int
    at: int | None = None
    message: Mapping[str, Any] | None = None
    expected: tuple[tuple[str, str], ...] = ()
    rule: str | None = None
    states: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = field(default=())


class _Dfa:
    """The determinized model, built lazily: sets of configurations interned as integers."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.sets: list[frozenset[Config]] = []
        self.index: dict[frozenset[Config], int] = {}
        self.delta: list[dict[Symbol, tuple[int, Answer]]] = []
        self._expected: dict[int, tuple[tuple[str, str], ...]] = {}
        self._rules: dict[tuple[int, Symbol], str] = {}
        self._states: dict[int, tuple[str, ...]] = {}
        self._accepting: dict[int, bool] = {}
        self._groups: dict[tuple[int, Symbol], tuple[tuple[int, tuple[Symbol, ...]], ...]] = {}
        self._described: dict[tuple[int, Symbol, frozenset[int]], tuple[str, ...]] = {}
        self.start = self.intern(frozenset({INITIAL_CONFIG}))

    def intern(self, configs: frozenset[Config]) -> int:
        found = self.index.get(configs)
        if found is None:
            found = self.index[configs] = len(self.sets)
            self.sets.append(configs)
            self.delta.append({})
        return found

    def successors(self, configs: frozenset[Config], key: Symbol) -> frozenset[Config]:
        step = self.machine.step
        return frozenset(
            succ
            for config in configs
            for symbol in concretize(key)
            for _, succ in step(config, symbol)
        )

    def extend(self, state: int, key: Symbol) -> tuple[int, Answer]:
        """Compute and memoize the successor of DFA state ``state`` under ``key``."""
        before = self.sets[state]
        after = self.successors(before, key)
        if not after:
            entry = (_DEAD, OK)
        else:
            completes = any(c[0] == "ESTABLISHED" for c in after) and not any(
                c[0] == "ESTABLISHED" for c in before
            )
            entry = (self.intern(after), COMPLETE if completes else OK)
        self.delta[state][key] = entry
        return entry

    def expected(self, state: int) -> tuple[tuple[str, str], ...]:
        """(sender, message) pairs some row would accept from this set of configurations."""
        found = self._expected.get(state)
        if found is None:
            machine = self.machine
            found = self._expected[state] = tuple(
                sorted(
                    {
                        (str(symbol[0]), str(symbol[1]))
                        for config in self.sets[state]
                        for symbol in machine.symbols_from(config[0])
                        if machine.step(config, symbol)
                    }
                )
            )
        return found

    def control_states(self, state: int) -> tuple[str, ...]:
        """The control states of the configurations in a DFA state."""
        found = self._states.get(state)
        if found is None:
            found = self._states[state] = tuple(sorted({c[0] for c in self.sets[state]}))
        return found

    def rule(self, state: int, key: Symbol) -> str:
        """The RFC rule a deviating key broke (memoized ``_rule``)."""
        found = self._rules.get((state, key))
        if found is None:
            found = self._rules[(state, key)] = self._rule(state, key)
        return found

    def _rule(self, state: int, key: Symbol) -> str:
        """The RFC rule a deviating key broke.

        A message that no state allows (``tables.REJECTIONS``) cites its own rule; a sender
        between its ChangeCipherSpec and its Finished breaks that state's rule; otherwise the
        row of that message which came closest to firing (fewest failing guard atoms), else the
        rule of the state, which says what was expected instead.
        """
        machine = self.machine
        symbols = concretize(key)
        for rejection in REJECTIONS:
            if rejection.message == key[1] and all(
                machine.guard_holds(rejection, (), symbol) for symbol in symbols
            ):
                return rejection.rfc
        configs = sorted(self.sets[state])
        states = machine.model.states
        gaps = [states[c[0]] for c in configs if states[c[0]].gap == key[0]]
        if gaps:  # between its CCS and Finished a sender may send nothing but Finished (§7.4.9)
            return gaps[0].rule
        best: tuple[int, str] | None = None
        for config in configs:
            for symbol in symbols:
                for row in machine.rows_from(config[0], str(symbol[0]), str(symbol[1])):
                    failing = sum(
                        not machine.guard_holds(replace(row, guard=(atom,)), config[1], symbol)
                        for atom in row.guard
                    )
                    if config[1][VAR_INDEX[f"{row.sender}_closed"]]:
                        candidate = (0, "RFC 5246 §7.2.1: its sender has sent close_notify")
                    else:
                        candidate = (failing, row.rfc)
                    if best is None or candidate[0] < best[0]:
                        best = candidate
        return best[1] if best is not None else machine.model.states[configs[0][0]].rule

    def accepting(self, state: int) -> bool:
        found = self._accepting.get(state)
        if found is None:
            found = self._accepting[state] = any(accepting(c) for c in self.sets[state])
        return found

    def groups(self, state: int, key: Symbol) -> tuple[tuple[int, tuple[Symbol, ...]], ...]:
        """The symbols a key stands for, grouped by the DFA state they lead to (not dead)."""
        found = self._groups.get((state, key))
        if found is None:
            by_successor: dict[int, list[Symbol]] = {}
            for symbol in concretize(key):
                entry = self.delta[state].get(symbol) or self.extend(state, symbol)
                if entry[0] != _DEAD:
                    by_successor.setdefault(entry[0], []).append(symbol)
            found = tuple((succ, tuple(syms)) for succ, syms in by_successor.items())
            self._groups[(state, key)] = found
        return found

    def describe(self, state: int, key: Symbol, ok: frozenset[int]) -> tuple[str, ...]:
        """What an unknown key had to be, given the successors the rest of the trace allows."""
        cache_key = (state, key, ok)
        found = self._described.get(cache_key)
        if found is None:
            groups = self.groups(state, key)
            legal = [s for _, syms in groups for s in syms]
            feasible = [s for succ, syms in groups if succ in ok for s in syms]
            found = self._described[cache_key] = _narrowing(key, legal, feasible)
        return found

    def run(self, state: int, keys: list[Symbol]) -> int:
        """Follow ``keys`` from ``state``; the resulting DFA state (or ``_DEAD``)."""
        for key in keys:
            if state == _DEAD:
                return _DEAD
            entry = self.delta[state].get(key)
            state = (entry if entry is not None else self.extend(state, key))[0]
        return state


_DFAS: dict[int, tuple[Model, _Dfa]] = {}


def _dfa_for(model: Model) -> _Dfa:
    found = _DFAS.get(id(model))
    if found is None or found[0] is not model:
        found = _DFAS[id(model)] = (model, _Dfa(machine_for(model)))
    return found[1]


class Checker:
    """Check one connection, message by message, against a model (default: the RFC tables).

    ``feed`` accepts a message in the trace format (a mapping) or a prebuilt key; it returns
    ``OK``, ``COMPLETE`` or a ``Deviation`` (sticky: once deviated, every later feed returns the
    same deviation). ``finish`` gives the verdict on everything fed so far.
    """

    __slots__ = ("_deviation", "_dfa", "_keys", "_state", "_unknown")

    def __init__(self, model: Model = TLS12) -> None:
        self._dfa = _dfa_for(model)
        self._state = self._dfa.start
        self._keys: list[Symbol] = []
        self._unknown: list[tuple[int, int]] = []  # (index, DFA state before) of unknown keys
        self._deviation: Deviation | None = None

    def feed(self, message: Mapping[str, Any] | Symbol) -> Answer:
        """Check the next message; ``TraceError`` if it is malformed (nothing is recorded)."""
        if self._deviation is not None:
            return self._deviation
        key = message if isinstance(message, tuple) else message_key(message)
        state = self._state
        entry = self._dfa.delta[state].get(key)
        if entry is None:
            entry = self._dfa.extend(state, key)
        index = len(self._keys)
        self._keys.append(key)
        if None in key:
            self._unknown.append((index, state))
        if entry[0] == _DEAD:
            return self._deviate(state, index, key, None if message is key else message)
        self._state = entry[0]
        return entry[1]

    def feed_all(self, messages: Iterable[Mapping[str, Any]]) -> TraceVerdict:
        """Feed a whole trace and return ``finish()`` — the oracle's hot loop.

        Same answers as calling ``feed`` per message, but with the lookups inlined: most
        messages carry no ordering attribute, and their key is found without building one.
        ``TraceError`` names the index of a malformed message.
        """
        dfa, keys, unknown = self._dfa, self._keys, self._unknown
        delta, plain = dfa.delta, PLAIN_KEYS
        state = self._state
        if self._deviation is None:
            for index, message in enumerate(messages, start=len(keys)):
                try:
                    key = plain.get((message["from"], message["type"]))
                except (KeyError, TypeError):
                    key = None
                if key is None:
                    try:
                        key = message_key(message)
                    except TraceError as err:
                        self._state = state
                        raise TraceError(f"message #{index}: {err}") from None
                entry = delta[state].get(key)
                if entry is None:
                    entry = dfa.extend(state, key)
                keys.append(key)
                if None in key:
                    unknown.append((index, state))
                if entry[0] == _DEAD:
                    self._deviate(state, index, key, message)
                    break
                state = entry[0]
            else:
                self._state = state
        return self.finish()

    def _deviate(
        self, state: int, index: int, key: Symbol, message: Mapping[str, Any] | None
    ) -> Deviation:
        self._state = _DEAD
        dfa = self._dfa
        self._deviation = Deviation(
            "deviation",
            index,
            message,
            dfa.expected(state),
            dfa.rule(state, key),
            dfa.control_states(state),
        )
        return self._deviation

    @property
    def expected(self) -> tuple[tuple[str, str], ...]:
        """The (sender, message) pairs the model allows next."""
        return () if self._state == _DEAD else self._dfa.expected(self._state)

    def next_for(self, role: str) -> dict[str, tuple[str, ...]]:
        """The per-role view of ``expected``: what ``role`` may send and may receive next."""
        pairs = self.expected
        return {
            "send": tuple(m for sender, m in pairs if sender == role),
            "receive": tuple(m for sender, m in pairs if sender != role),
        }

    @property
    def states(self) -> tuple[str, ...]:
        """The control states the connection may be in now."""
        return () if self._state == _DEAD else self._dfa.control_states(self._state)

    def finish(self) -> TraceVerdict:
        """The verdict on the trace fed so far."""
        length = len(self._keys)
        dev = self._deviation
        if dev is not None:
            return TraceVerdict(
                "deviates",
                length,
                dev.at,
                dev.message,
                dev.expected,
                dev.rule,
                dev.states,
                self._assumptions(need_accept=False, upto=dev.at),
            )
        accepted = self._dfa.accepting(self._state)
        verdict = "conforms" if accepted else "incomplete"
        expected = () if accepted else self.expected
        return TraceVerdict(
            verdict,
            length,
            expected=expected,
            states=self.states,
            assumptions=self._assumptions(need_accept=accepted, upto=length),
        )

    def _assumptions(self, need_accept: bool, upto: int) -> tuple[str, ...]:
        """For each unknown message before ``upto``: the values the verdict depends on.

        Only what the *rest of the trace* rules out is an assumption worth reporting: values
        that would make the message itself illegal are excluded by the model either way (the
        checker's stance on every unknown is that the message is legal where it stands).
        """
        dfa = self._dfa
        notes: list[str] = []
        for index, before in self._unknown:
            if index >= upto:
                break
            key = self._keys[index]
            rest = self._keys[index + 1 : upto]
            ok = frozenset(
                succ
                for succ, _ in dfa.groups(before, key)
                if (end := dfa.run(succ, rest)) != _DEAD and (not need_accept or dfa.accepting(end))
            )
            notes.extend(f"#{index} {note}" for note in dfa.describe(before, key, ok))
        return tuple(notes)


def _narrowing(key: Symbol, legal: list[Symbol], feasible: list[Symbol]) -> tuple[str, ...]:
    """Notes for the attribute values (or message types) ``feasible`` keeps of ``legal``."""
    if key[1] is None:
        types = sorted({str(s[1]) for s in feasible})
        return (f"{key[0]} {UNKNOWN_ENCRYPTED} was {' or '.join(types)}",) if types else ()
    notes = []
    for offset, (name, _) in enumerate(SYMBOL_ATTRIBUTES.get(str(key[1]), ())):
        if key[2 + offset] is not None:
            continue
        values = {s[2 + offset] for s in feasible}
        if 0 < len(values) < len({s[2 + offset] for s in legal}):
            shown = "|".join(
                sorted(str(v).lower() if isinstance(v, bool) else str(v) for v in values)
            )
            notes.append(f"{key[0]} {key[1]} {name}={shown}")
    return tuple(notes)


def check(messages: list[Mapping[str, Any]], model: Model = TLS12) -> TraceVerdict:
    """Check a whole trace (a list of messages in the trace format)."""
    return Checker(model).feed_all(messages)
