"""The transition relation of a ``Model`` in z3, built from ``machine_for(model).rows``.

Why this module exists: every proof, every mutant check and the bounded equivalence with the
declarative rules need the same relation T(c, sym, c') over z3 terms. It is generated here, row by
row, from the *expanded* rows of ``tlsmodel.model.machine`` (concrete source state, SAME resolved,
sender guard prepended), so there is no second, hand-written copy of any ordering rule: a mutant
Model is encoded by exactly the same code as the RFC tables.

Encoding
--------
* A configuration is the control state (a bit-vector holding the index in ``model.states``) and
  one term per variable of ``VARIABLES``: a z3 Bool for a boolean domain, else a bit-vector
  holding the index of the value in its domain (``fam``: 0 is ``None``).
* A symbol is ``server`` (Bool: the sender is the server), ``type`` (bit-vector index in
  ``MESSAGE_TYPES``) and one term per ``(message, attribute)`` of ``SYMBOL_ATTRIBUTES``; a term
  only means something when ``type`` is its message (the guards of a row only read the
  attributes of the row's message, so the others are don't-cares).
* T(c, sym, c') is the disjunction over rows of source ∧ sender ∧ type ∧ guard ∧ target ∧
  effects ∧ frame (every variable not assigned keeps its value).

The encoding is exact for well-formed terms (``Config.wellformed``, ``Sym.wellformed``): every
value that fits the domain decodes back to a machine value (``decode_config``, ``decode_symbol``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import z3
from tlsmodel.model.alphabet import MESSAGE_TYPES, SENT_BY
from tlsmodel.model.machine import (
    INITIAL_CONFIG,
    SYMBOL_ATTRIBUTES,
    VAR_NAMES,
    Symbol,
    accepting,
    machine_for,
)
from tlsmodel.model.machine import Config as MachineConfig
from tlsmodel.model.suites import FAMILIES
from tlsmodel.model.tables import BOOL, VARIABLES, Model, Row, Value

Term = z3.ExprRef
ATTRS: Final[tuple[tuple[str, str], ...]] = tuple(
    (message, attr) for message, attrs in SYMBOL_ATTRIBUTES.items() for attr, _ in attrs
)
ATTR_DOMAINS: Final[dict[tuple[str, str], tuple[Value, ...]]] = {
    (message, attr): dom for message, attrs in SYMBOL_ATTRIBUTES.items() for attr, dom in attrs
}
TYPE_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(MESSAGE_TYPES)}


def _width(size: int) -> int:
    return max(1, (size - 1).bit_length())


def _fresh(name: str, domain: tuple[Value, ...]) -> Term:
    if domain == BOOL:
        return z3.Bool(name)
    return z3.BitVec(name, _width(len(domain)))


def _is(term: Term, domain: tuple[Value, ...], allowed: tuple[Value, ...]) -> z3.BoolRef:
    """``term`` holds one of ``allowed`` (values of ``domain``)."""
    if domain == BOOL:
        if set(allowed) >= {False, True}:
            return z3.BoolVal(True)
        return term if True in allowed else z3.Not(term)
    codes = [domain.index(v) for v in allowed if v in domain]
    width = term.size()
    return z3.Or([term == z3.BitVecVal(code, width) for code in codes])


def _in_domain(term: Term, domain: tuple[Value, ...]) -> z3.BoolRef:
    """A bit-vector ``term`` holds the index of some value of ``domain``."""
    if domain == BOOL or len(domain) == 1 << term.size():
        return z3.BoolVal(True)
    return z3.ULT(term, len(domain))


def _const(domain: tuple[Value, ...], value: Value) -> Term:
    """The z3 constant of ``value`` in ``domain``."""
    if domain == BOOL:
        return z3.BoolVal(bool(value))
    return z3.BitVecVal(domain.index(value), _width(len(domain)))


def _decode(value: z3.ExprRef, domain: tuple[Value, ...]) -> Value:
    if domain == BOOL:
        return z3.is_true(value)
    return domain[value.as_long()]


@dataclass(frozen=True)
class Config:
    """z3 terms of one configuration: control state and variables (by name)."""

    state: Term
    vars: dict[str, Term]

    def terms(self) -> list[Term]:
        """The terms in a fixed order (the arguments of a CHC predicate)."""
        return [self.state, *(self.vars[name] for name in VAR_NAMES)]


@dataclass(frozen=True)
class Sym:
    """z3 terms of one symbol: ``server`` (sender is the server), ``type``, attributes."""

    server: Term
    type: Term
    attrs: dict[tuple[str, str], Term]

    def terms(self) -> list[Term]:
        """The terms in a fixed order."""
        return [self.server, self.type, *(self.attrs[key] for key in ATTRS)]

    def is_msg(self, message: str, sender: str | None = None) -> z3.BoolRef:
        """The symbol is ``message`` (from ``sender``, if given)."""
        conj = [self.type == TYPE_INDEX[message]]
        if sender is not None:
            conj.append(self.server if sender == "server" else z3.Not(self.server))
        return z3.And(conj)

    def attr_is(self, message: str, attr: str, *allowed: Value) -> z3.BoolRef:
        """The attribute ``attr`` of ``message`` holds one of ``allowed``."""
        key = (message, attr)
        return _is(self.attrs[key], ATTR_DOMAINS[key], allowed)

    def wellformed(self) -> z3.BoolRef:
        """A real symbol: a message type, a sender allowed to send it, attributes in domain."""
        options = []
        for message in MESSAGE_TYPES:
            senders = SENT_BY[message]
            if len(senders) == 2:
                options.append(self.type == TYPE_INDEX[message])
            else:
                options.append(self.is_msg(message, senders[0]))
        conj = [z3.Or(options)]
        conj.extend(_in_domain(self.attrs[key], ATTR_DOMAINS[key]) for key in ATTRS)
        return z3.And(conj)


def new_config(prefix: str) -> Config:
    """Fresh z3 constants for a configuration, named ``prefix.state``, ``prefix.<var>``."""
    return Config(
        z3.BitVec(f"{prefix}.state", STATE_WIDTH),
        {name: _fresh(f"{prefix}.{name}", VARIABLES[name]) for name in VAR_NAMES},
    )


def new_symbol(prefix: str) -> Sym:
    """Fresh z3 constants for a symbol, named ``prefix.server``, ``prefix.type``, ..."""
    return Sym(
        z3.Bool(f"{prefix}.server"),
        z3.BitVec(f"{prefix}.type", _width(len(MESSAGE_TYPES))),
        {key: _fresh(f"{prefix}.{key[0]}.{key[1]}", ATTR_DOMAINS[key]) for key in ATTRS},
    )


def constant_symbol(symbol: Symbol) -> Sym:
    """A machine symbol as z3 constants (attributes of other messages: their first value)."""
    sender, message, *values = symbol
    given = {
        (str(message), attr): v
        for (attr, _), v in zip(SYMBOL_ATTRIBUTES.get(str(message), ()), values, strict=True)
    }
    return Sym(
        z3.BoolVal(sender == "server"),
        z3.BitVecVal(TYPE_INDEX[str(message)], _width(len(MESSAGE_TYPES))),
        {key: _const(ATTR_DOMAINS[key], given.get(key, ATTR_DOMAINS[key][0])) for key in ATTRS},
    )


STATE_WIDTH: Final = 6  # room for mutants that add states; checked in Encoding


class Encoding:
    """The z3 relation of one model (cached per model by ``encoding_for``)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.machine = machine_for(model)
        self.states: tuple[str, ...] = tuple(model.states)
        if len(self.states) > 1 << STATE_WIDTH:
            raise ValueError(f"{model.name}: more states than STATE_WIDTH bits hold")
        self.state_index = {name: i for i, name in enumerate(self.states)}
        self.rows: tuple[Row, ...] = self.machine.rows
        self._relation: tuple[Config, Sym, Config, z3.BoolRef] | None = None

    def in_state(self, c: Config, *names: str) -> z3.BoolRef:
        """The control state of ``c`` is one of ``names``."""
        return z3.Or([c.state == self.state_index[n] for n in names])

    def var_is(self, c: Config, name: str, *allowed: Value) -> z3.BoolRef:
        """Variable ``name`` of ``c`` holds one of ``allowed``."""
        return _is(c.vars[name], VARIABLES[name], allowed)

    def wellformed(self, c: Config) -> z3.BoolRef:
        """Every term of ``c`` decodes to a value of its domain."""
        conj = [_in_domain(c.state, self.states)]
        conj.extend(_in_domain(c.vars[name], VARIABLES[name]) for name in VAR_NAMES)
        return z3.And(conj)

    def is_config(self, c: Config, config: MachineConfig) -> z3.BoolRef:
        """``c`` equals the concrete machine configuration ``config``."""
        state, values = config
        conj = [c.state == self.state_index[state]]
        for name, value in zip(VAR_NAMES, values, strict=True):
            conj.append(self.var_is(c, name, value))
        return z3.And(conj)

    def init(self, c: Config) -> z3.BoolRef:
        """``c`` is the initial configuration."""
        return self.is_config(c, INITIAL_CONFIG)

    def accepting(self, c: Config) -> z3.BoolRef:
        """``machine.accepting`` as a formula: evaluated on every state and the closed flags.

        Derived from the machine's own function (not restated): a configuration is accepting
        per state unless only the close_notify flags make it so, which is read off the function
        by calling it on the flags alone.
        """
        plain = tuple(VARIABLES[name][0] for name in VAR_NAMES)
        final = [s for s in self.states if accepting((s, plain))]
        flags = []
        for name in ("client_closed", "server_closed"):
            values = tuple(True if v == name else VARIABLES[v][0] for v in VAR_NAMES)
            if accepting((self.states[0], values)):
                flags.append(c.vars[name])
        return z3.Or([self.in_state(c, *final), *flags])

    def guard(self, row: Row, c: Config, sym: Sym) -> z3.BoolRef:
        """The guard atoms of ``row`` on ``c`` and ``sym`` (``msg.``, ``var.``, ``fam.``)."""
        conj = []
        for path, allowed in row.guard:
            scope, _, name = path.partition(".")
            if scope == "msg":
                conj.append(sym.attr_is(row.message, name, *allowed))
            elif scope == "var":
                conj.append(self.var_is(c, name, *allowed))
            else:
                families = [f for f, fam in FAMILIES.items() if getattr(fam, name) in allowed]
                conj.append(self.var_is(c, "fam", *families))
        return z3.And(conj)

    def fires(self, row: Row, c: Config, sym: Sym) -> z3.BoolRef:
        """``row`` fires on ``sym`` in ``c``: source state, sender, message type and guard."""
        return z3.And(
            c.state == self.state_index[row.state],
            sym.is_msg(row.message, row.sender),
            self.guard(row, c, sym),
        )

    def update(
        self, row: Row, c: Config, sym: Sym, c2: Config, same_state: bool = False
    ) -> z3.BoolRef:
        """Target state, effects and frame of ``row`` (``c2`` is the configuration after).

        ``same_state``: the target is the source, whatever it is (rows from ``ANY``).
        """
        target = c.state if same_state else z3.BitVecVal(self.state_index[row.target], STATE_WIDTH)
        conj = [c2.state == target]
        assigned = dict(row.effects)
        for name in VAR_NAMES:
            if name not in assigned:
                conj.append(c2.vars[name] == c.vars[name])
                continue
            source = assigned[name]
            if isinstance(source, str) and source.startswith("msg."):
                conj.append(c2.vars[name] == self._value_of(name, sym, (row.message, source[4:])))
            else:
                conj.append(self.var_is(c2, name, source))
        return z3.And(conj)

    @staticmethod
    def _value_of(name: str, sym: Sym, key: tuple[str, str]) -> Term:
        """Attribute ``key`` of ``sym`` as a value of variable ``name`` (domains may differ)."""
        var_dom, attr_dom = VARIABLES[name], ATTR_DOMAINS[key]
        source = sym.attrs[key]
        if var_dom == attr_dom:
            return source
        shift = len(var_dom) - len(attr_dom)
        width = _width(len(var_dom))
        if var_dom[shift:] == attr_dom and BOOL not in (var_dom, attr_dom):
            ext = width - source.size()
            return (z3.ZeroExt(ext, source) if ext else source) + shift
        value: Term = _const(var_dom, var_dom[0])
        for v in attr_dom:
            value = z3.If(_is(source, attr_dom, (v,)), _const(var_dom, v), value)
        return value

    def step(self, row: Row, c: Config, sym: Sym, c2: Config) -> z3.BoolRef:
        """``row`` fires and leads from ``c`` to ``c2``."""
        return z3.And(self.fires(row, c, sym), self.update(row, c, sym, c2))

    def transition(self, c: Config, sym: Sym, c2: Config) -> z3.BoolRef:
        """T(c, sym, c2): some row fires on ``sym`` in ``c`` and leads to ``c2``."""
        return z3.Or([self.step(row, c, sym, c2) for row in self.rows])

    def relation(self) -> tuple[Config, Sym, Config, z3.BoolRef]:
        """T once, over the constants ``c``, ``s``, ``n``: (c, s, n, wf(s) ∧ T(c, s, n)).

        Building T costs tens of milliseconds of Python per copy; every other copy (unrolling,
        CHC rules) is made from this one with ``z3.substitute``, which is cheap.
        """
        if self._relation is None:
            c, s, n = new_config("c"), new_symbol("s"), new_config("n")
            self._relation = (c, s, n, z3.And(s.wellformed(), self.factored(c, s, n)))
        return self._relation

    def factored(self, c: Config, sym: Sym, c2: Config) -> z3.BoolRef:
        """``transition`` with common factors pulled out: (A ∧ X) ∨ (B ∧ X) = (A ∨ B) ∧ X.

        Rows are grouped by their update (target — or "stays", for rows whose target is their
        source — and effects); inside a group, rows that differ only in the source state share
        one guard. The formula is equivalent to ``transition`` (a test proves it with z3) but
        several times smaller, and every solver query over it is that much cheaper.
        """
        groups: dict[tuple, dict[tuple, list[str]]] = {}
        for row in self.rows:
            stays = row.target == row.state
            update_key = (None if stays else row.target, row.effects)
            fire_key = (row.sender, row.message, row.guard)
            groups.setdefault(update_key, {}).setdefault(fire_key, []).append(row.state)
        disjuncts = []
        for (target, effects), fire_groups in groups.items():
            fires = [
                z3.And(
                    self.in_state(c, *states),
                    sym.is_msg(message, sender),
                    self.guard(_probe(message, guard), c, sym),
                )
                for (sender, message, guard), states in fire_groups.items()
            ]
            probe = Row("", "", next(iter(fire_groups))[1], (), target or "", effects, "")
            update = self.update(probe, c, sym, c2, same_state=target is None)
            disjuncts.append(z3.And(z3.Or(fires), update))
        return z3.Or(disjuncts)

    def transition_at(self, c: Config, sym: Sym, c2: Config) -> z3.BoolRef:
        """wf(sym) ∧ T(c, sym, c2), made from the cached ``relation`` by substitution."""
        c0, s0, n0, formula = self.relation()
        pairs = list(
            zip(
                c0.terms() + s0.terms() + n0.terms(),
                c.terms() + sym.terms() + c2.terms(),
                strict=True,
            )
        )
        return z3.substitute(formula, *pairs)

    def enabled(self, c: Config, sym: Sym) -> z3.BoolRef:
        """Some row fires on ``sym`` in ``c`` (the checker answers ok, not deviation)."""
        return z3.Or([self.fires(row, c, sym) for row in self.rows])

    def decode_config(self, model: z3.ModelRef, c: Config) -> MachineConfig:
        """The machine configuration that ``c`` takes in a z3 model."""
        state = self.states[model.eval(c.state, model_completion=True).as_long()]
        values = tuple(
            _decode(model.eval(c.vars[name], model_completion=True), VARIABLES[name])
            for name in VAR_NAMES
        )
        return (state, values)


def decode_symbol(model: z3.ModelRef, sym: Sym) -> Symbol:
    """The machine symbol that ``sym`` takes in a z3 model."""
    message = MESSAGE_TYPES[model.eval(sym.type, model_completion=True).as_long()]
    sender = "server" if z3.is_true(model.eval(sym.server, model_completion=True)) else "client"
    values = [
        _decode(model.eval(sym.attrs[(message, attr)], model_completion=True), dom)
        for attr, dom in SYMBOL_ATTRIBUTES.get(message, ())
    ]
    return (sender, message, *values)


def _probe(message: str, guard: tuple) -> Row:
    """A row that carries only a message and a guard (for ``Encoding.guard``)."""
    return Row("", "", message, guard, "", (), "")


_ENCODINGS: dict[int, Encoding] = {}


def encoding_for(model: Model) -> Encoding:
    """The (cached) encoding of a model."""
    found = _ENCODINGS.get(id(model))
    if found is None or found.model is not model:
        found = _ENCODINGS[id(model)] = Encoding(model)
    return found
