"""The language of the properties: observer automata (monitors) over the accepted trace.

Why monitors: a property such as "Finished only right after that sender's ChangeCipherSpec" is
about the *history* of the trace, not about the tables' control state. Reading the control state
would only restate the tables (and prove nothing about them). Instead each property declares a
few monitor variables that watch the symbols the tables accept — written straight from the RFC
sentence, knowing nothing of the tables' states — and a ``bad`` condition on one accepted step.
The proof engines (``chc``, ``bmc``) add the monitors to the encoded configuration.

A ``Property`` is safety over accepted steps: no trace accepted by the tables reaches a step
(configuration, monitors, symbol) where ``bad`` holds. Its ``witness`` names a step that must be
reachable, so that the property cannot hold vacuously (mypyvy's ``sat trace``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import z3
from tlsmodel.model.suites import FAMILIES, Family
from tlsmodel.model.tables import BOOL, Value
from tlsmodel.proofs.encoding import TYPE_INDEX, Config, Encoding, Sym

Term = z3.ExprRef
Monitors = dict[str, Term]


@dataclass(frozen=True)
class Monitor:
    """An observer variable: its domain, initial value, and value after each accepted symbol."""

    name: str
    domain: tuple[Value, ...]
    initial: Value
    update: Callable[[Sym, Monitors], Term]

    def fresh(self, prefix: str) -> Term:
        """A z3 constant for this monitor (Bool, or bit-vector index into ``domain``)."""
        if self.domain == BOOL:
            return z3.Bool(f"{prefix}.{self.name}")
        return z3.BitVec(f"{prefix}.{self.name}", max(1, (len(self.domain) - 1).bit_length()))

    def is_initial(self, term: Term) -> z3.BoolRef:
        """``term`` holds the initial value."""
        if self.domain == BOOL:
            return term == z3.BoolVal(bool(self.initial))
        return term == self.domain.index(self.initial)


@dataclass(frozen=True)
class Step:
    """One accepted step as seen by a property: config before/after, symbol, monitors before."""

    enc: Encoding
    before: Config
    sym: Sym
    after: Config
    m: Monitors


@dataclass(frozen=True)
class Property:
    """A named safety property over accepted steps, with its RFC section and a witness."""

    name: str
    rfc: str
    statement: str
    monitors: tuple[Monitor, ...]
    bad: Callable[[Step], z3.BoolRef]
    witness: Callable[[Step], z3.BoolRef]


# --- monitor building blocks -------------------------------------------------------------------

_RECORD_ONLY = ("Alert", "ApplicationData")


def handshake_layer(sym: Sym) -> z3.BoolRef:
    """A handshake message or a ChangeCipherSpec (not an alert, not application data)."""
    return z3.And([sym.type != TYPE_INDEX[t] for t in _RECORD_ONLY])


def from_(sym: Sym, sender: str) -> z3.BoolRef:
    """The symbol is sent by ``sender``."""
    return sym.server if sender == "server" else z3.Not(sym.server)


def last_was(name: str, sender: str | None, message: str, skip: tuple[str, ...] = ()) -> Monitor:
    """Whether the last handshake-layer message (of ``sender``, or of either side; types in
    ``skip`` not counted) was ``message``. False before the first."""

    def update(sym: Sym, m: Monitors) -> Term:
        counted = [handshake_layer(sym), *(sym.type != TYPE_INDEX[t] for t in skip)]
        if sender is not None:
            counted.append(from_(sym, sender))
        return z3.If(z3.And(counted), sym.type == TYPE_INDEX[message], m[name])

    return Monitor(name, BOOL, False, update)


def flag(
    name: str, when: Callable[[Sym], z3.BoolRef], reset: Callable[[Sym], z3.BoolRef] | None = None
) -> Monitor:
    """A Bool that becomes true when ``when`` is accepted, false again on ``reset``."""

    def update(sym: Sym, m: Monitors) -> Term:
        keep = m[name] if reset is None else z3.And(m[name], z3.Not(reset(sym)))
        return z3.Or(when(sym), keep)

    return Monitor(name, BOOL, False, update)


def new_handshake(sym: Sym) -> z3.BoolRef:
    """A ClientHello starts a (re)negotiation: per-handshake monitors restart there."""
    return sym.is_msg("ClientHello")


def seen(name: str, message: str, sender: str | None = None) -> Monitor:
    """``message`` (from ``sender``) was accepted since the last ClientHello."""
    return flag(name, lambda s: s.is_msg(message, sender), new_handshake)


def echoed(name: str, attr: str) -> Monitor:
    """The boolean ServerHello attribute ``attr`` of the current handshake (false before it)."""

    def update(sym: Sym, m: Monitors) -> Term:
        hello = sym.is_msg("ServerHello")
        return z3.If(
            hello, sym.attrs[("ServerHello", attr)], z3.And(m[name], z3.Not(new_handshake(sym)))
        )

    return Monitor(name, BOOL, False, update)


def family_is(name: str, test: Callable[[Family], bool]) -> Monitor:
    """Whether the current handshake's ServerHello chose a family with ``test(family)``.

    A Bool rather than the family itself: the properties only ever ask one such question, and
    a Bool is far easier for the CHC engine to relate to the tables' state than a family index.
    """

    def update(sym: Sym, m: Monitors) -> Term:
        chosen = sym.attr_is("ServerHello", "family", *(n for n, f in FAMILIES.items() if test(f)))
        return z3.If(sym.is_msg("ServerHello"), chosen, z3.And(m[name], z3.Not(new_handshake(sym))))

    return Monitor(name, BOOL, False, update)


def alert(sym: Sym, level: str | None = None, kind: str | None = None) -> z3.BoolRef:
    """The symbol is an Alert (of this level / kind)."""
    conj = [sym.is_msg("Alert")]
    if level is not None:
        conj.append(sym.attr_is("Alert", "level", level))
    if kind is not None:
        conj.append(sym.attr_is("Alert", "kind", kind))
    return z3.And(conj)
