"""A trace as positions, and the auxiliary notions the declarative rules speak in.

Why this module exists: the declarative rule set (``rules``) states RFC sentences as constraints
over positions of a trace — "the last flow message before i", "the last message of the client",
"the ServerHello of the current handshake", "a Finished that completes its handshake" — and
never consults the tables. Those notions are defined here once, each by what it *means* about
the positions before i. Every position is one ``encoding.Sym`` (sender, type, and the abstract
attributes of ``machine.SYMBOL_ATTRIBUTES``, with the same value domains), so a position lines
up with the tables' symbols one to one; positions at or beyond ``length`` are padding.

Each notion is written as a recursion on i ("the last ServerHello before i+1 is position i if
that is a ServerHello, else the last one before i"): the same definition as "some j < i with
the property and none of it in between", but linear in the trace length and local for a solver
(the quadratic between-form took twice as long per extra position). Each notion at i reads only
positions < i, so every rule built from them is prefix-closed — the equivalence check relies on
that to go depth by depth.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import z3
from tlsmodel.model.alphabet import CLIENT, HANDSHAKE_TYPES, SERVER
from tlsmodel.model.suites import FAMILIES
from tlsmodel.proofs.encoding import ATTR_DOMAINS, TYPE_INDEX, Sym, new_symbol

# Messages that make up a handshake's flow (RFC 5246 §7.3 Figures 1 and 2): every handshake
# message but HelloRequest, which "is not bound by these ordering rules" (§7.4), plus
# ChangeCipherSpec, which is not a handshake message but has its fixed place in the flow (§7.1).
FLOW_TYPES = tuple(t for t in HANDSHAKE_TYPES if t != "HelloRequest") + ("ChangeCipherSpec",)
_TYPE_BITS = 4
NO_TYPE = (1 << _TYPE_BITS) - 1  # "no such message yet": not a message type index

Term = z3.ExprRef


def families(field: str, *values: object) -> tuple[str, ...]:
    """The key-exchange families whose ``field`` (a ``suites.Family`` field) is one of values."""
    return tuple(name for name, fam in FAMILIES.items() if getattr(fam, field) in values)


class Positions:
    """n positions of a trace (one ``Sym`` each), a length, and the derived notions (memoized)."""

    def __init__(
        self,
        symbols: Sequence[Sym],
        length: z3.ArithRef | None = None,
        symbolic_start: bool = False,
    ) -> None:
        """``symbolic_start``: the notions before position 0 are free constants (``history``)
        instead of their empty-trace values, so that positions 0.. stand for any point of a
        longer trace; ``next_history`` then gives the notions after the last position. That is
        the rule set as a transition system (``rules.RuleSystem``), which the equivalence
        checks copy to every position."""
        self.symbols = list(symbols)
        self.n = len(self.symbols)
        self.length = length if length is not None else z3.Int(f"len{id(self)}")
        self._cache: dict[tuple[object, ...], Term] = {}
        self._start: dict[str, Term] | None = {} if symbolic_start else None
        self._specs: dict[str, tuple] = {}

    @classmethod
    def fresh(cls, n: int, prefix: str = "d") -> Positions:
        """n positions of fresh z3 constants (named ``{prefix}{i}.…``)."""
        return cls([new_symbol(f"{prefix}{i}") for i in range(n)], z3.Int(f"{prefix}.length"))

    def history(self) -> dict[str, Term]:
        """The notions before position 0 (``symbolic_start``), by name, as met so far."""
        return dict(self._start or {})

    def initial_history(self) -> dict[str, Term]:
        """What each notion of ``history`` is on the empty trace."""
        return {name: spec[2] for name, spec in self._specs.items()}

    def next_history(self) -> dict[str, Term]:
        """Each notion of ``history`` after the last position (closed under what it reads)."""
        done: dict[str, Term] = {}
        while len(done) < len(self._specs):
            for name in [n for n in self._specs if n not in done]:
                done[name] = self.last(name, self.n, *self._specs[name])
        return done

    def domains(self) -> z3.BoolRef:
        """Every position holds a message type and attribute values of the alphabet's domains.

        Not a rule: it only says the bit-vectors mean something (senders stay a rule). The
        length is not constrained here: the equivalence check fixes lengths per depth instead.
        """
        conj: list[z3.BoolRef] = []
        for sym in self.symbols:
            conj.append(z3.ULT(sym.type, len(TYPE_INDEX)))
            conj.extend(
                z3.ULT(term, len(ATTR_DOMAINS[key]))
                for key, term in sym.attrs.items()
                if not z3.is_bool(term) and len(ATTR_DOMAINS[key]) < 1 << term.size()
            )
        return z3.And(conj)

    # -- one position -------------------------------------------------------------------------

    def is_(self, i: int, message: str, sender: str | None = None) -> z3.BoolRef:
        """Position i is ``message`` (from ``sender`` if given)."""
        return self.symbols[i].is_msg(message, sender)

    def by(self, i: int, sender: str) -> z3.BoolRef:
        """Position i is sent by ``sender``."""
        server = self.symbols[i].server
        return server if sender == SERVER else z3.Not(server)

    def attr(self, i: int, message: str, attr: str, *allowed: object) -> z3.BoolRef:
        """The ``attr`` of position i (read as a ``message``) is one of ``allowed``."""
        return self.symbols[i].attr_is(message, attr, *allowed)

    def flow(self, i: int) -> z3.BoolRef:
        """Position i is part of a handshake's flow (``FLOW_TYPES``)."""
        return z3.Or([self.symbols[i].type == TYPE_INDEX[t] for t in FLOW_TYPES])

    def alert(self, i: int, sender: str | None, kind: str) -> z3.BoolRef:
        """Position i is an Alert of abstract description ``kind`` (from ``sender`` if given)."""
        return z3.And(self.is_(i, "Alert", sender), self.attr(i, "Alert", "kind", kind))

    def fatal(self, i: int, sender: str | None = None) -> z3.BoolRef:
        """Position i is an Alert with level fatal."""
        return z3.And(self.is_(i, "Alert", sender), self.attr(i, "Alert", "level", "fatal"))

    def signing_certificate(self, i: int) -> z3.BoolRef:
        """Position i is a client Certificate that can sign: non-empty, no fixed (EC)DH key."""
        return z3.And(
            self.is_(i, "Certificate", CLIENT),
            self.attr(i, "Certificate", "empty", False),
            self.attr(i, "Certificate", "fixed_dh", False),
        )

    # -- what came before i -------------------------------------------------------------------

    def last(
        self,
        name: str,
        i: int,
        hit: Callable[[int], z3.BoolRef],
        value: Callable[[int], Term],
        none: Term,
        reset: Callable[[int], z3.BoolRef] | None = None,
    ) -> Term:
        """The ``value`` of the last position before i where ``hit`` holds (``none`` if there
        is none, or none since the last position where ``reset`` holds)."""
        key = (name, i)
        found = self._cache.get(key)
        if found is None:
            if i == 0:
                found = none
                if self._start is not None:
                    found = self._start.setdefault(name, z3.Const(f"H.{name}", none.sort()))
                    self._specs[name] = (hit, value, none, reset)
            else:
                before = self.last(name, i - 1, hit, value, none, reset)
                if reset is not None:
                    before = z3.If(reset(i - 1), none, before)
                found = z3.simplify(z3.If(hit(i - 1), value(i - 1), before))
            self._cache[key] = found
        return found

    def _ever(
        self,
        name: str,
        i: int,
        hit: Callable[[int], z3.BoolRef],
        reset: Callable[[int], z3.BoolRef] | None = None,
    ) -> z3.BoolRef:
        """Some position before i (and after the last ``reset`` position) satisfies ``hit``."""
        return self.last(name, i, hit, lambda _: z3.BoolVal(True), z3.BoolVal(False), reset)

    def _type_of(self, j: int) -> Term:
        return self.symbols[j].type

    def _is_type(self, term: Term, message: str) -> z3.BoolRef:
        return term == TYPE_INDEX[message]

    def prev_flow_is(self, i: int, *options: tuple[str, str | None]) -> z3.BoolRef:
        """The last flow message before i (either sender) is one of (message, sender) options."""
        none = z3.BitVecVal(NO_TYPE, _TYPE_BITS)
        kind = self.last("flow type", i, self.flow, self._type_of, none)
        server = self.last(
            "flow server", i, self.flow, lambda j: self.symbols[j].server, z3.BoolVal(False)
        )
        return z3.Or(
            [
                z3.And(self._is_type(kind, m), *(() if s is None else (server == (s == SERVER),)))
                for m, s in options
            ]
        )

    def prev_flow_of_is(self, sender: str, i: int, *messages: str) -> z3.BoolRef:
        """``sender``'s last flow message before i, in the current handshake, is one of these."""
        kind = self.last(
            f"flow type {sender}",
            i,
            lambda j: z3.And(self.flow(j), self.by(j, sender)),
            self._type_of,
            z3.BitVecVal(NO_TYPE, _TYPE_BITS),
            reset=self._is_ch,
        )
        return z3.Or([self._is_type(kind, m) for m in messages])

    def prev_of_is(self, sender: str, i: int, message: str) -> z3.BoolRef:
        """The last message of any kind from ``sender`` before i is ``message``."""
        kind = self.last(
            f"type {sender}",
            i,
            lambda j: self.by(j, sender),
            self._type_of,
            z3.BitVecVal(NO_TYPE, _TYPE_BITS),
        )
        return self._is_type(kind, message)

    def seen(self, i: int, message: str, sender: str | None = None) -> z3.BoolRef:
        """Some position before i is ``message`` (from ``sender`` if given)."""
        return self._ever(f"seen {message} {sender}", i, lambda j: self.is_(j, message, sender))

    def in_current(self, i: int, message: str) -> z3.BoolRef:
        """A ``message`` came after the last ClientHello and before i."""
        return self._ever(
            f"current {message}", i, lambda j: self.is_(j, message), reset=self._is_ch
        )

    def signing_in_current(self, i: int) -> z3.BoolRef:
        """The current handshake carried a client Certificate with signing capability."""
        return self._ever("current signing", i, self.signing_certificate, reset=self._is_ch)

    def current_sh(self, i: int, attr: str, *allowed: object) -> z3.BoolRef:
        """The current handshake has a ServerHello and its ``attr`` is one of ``allowed``."""
        dom = ATTR_DOMAINS[("ServerHello", attr)]
        present = self._ever("current sh", i, self._is_sh, reset=self._is_ch)
        term = self.symbols[0].attrs[("ServerHello", attr)]
        none: Term = z3.BoolVal(False) if z3.is_bool(term) else z3.BitVecVal(0, term.size())
        value = self.last(
            f"current sh {attr}",
            i,
            self._is_sh,
            lambda j: self.symbols[j].attrs[("ServerHello", attr)],
            none,
        )
        return z3.And(present, _holds(value, dom, allowed))

    def current_family(self, i: int, field: str, *values: object) -> z3.BoolRef:
        """The current ServerHello selected a family whose ``field`` is one of ``values``."""
        return self.current_sh(i, "family", *families(field, *values))

    def first_ri(self, i: int) -> z3.BoolRef:
        """The first ServerHello of the connection (before i) echoed renegotiation_info."""
        first = lambda j: z3.And(self._is_sh(j), z3.Not(self.seen(j, "ServerHello")))  # noqa: E731
        return self.last(
            "first ri",
            i,
            first,
            lambda j: self.symbols[j].attrs[("ServerHello", "ri")],
            z3.BoolVal(False),
        )

    def full(self, i: int) -> z3.BoolRef:
        """The current handshake is a full one: its ServerHello did not resume."""
        return self.current_sh(i, "resumed", False)

    def abbreviated(self, i: int) -> z3.BoolRef:
        """The current handshake resumes a session (RFC 5246 §7.3 Figure 2)."""
        return self.current_sh(i, "resumed", True)

    def completes(self, f: int) -> z3.BoolRef:
        """Position f is the Finished that completes its handshake.

        The second Finished of the flow: the server's in a full handshake, the client's in an
        abbreviated one (RFC 5246 §7.3 Figures 1 and 2).
        """
        return z3.Or(
            z3.And(self.is_(f, "Finished", SERVER), self.full(f)),
            z3.And(self.is_(f, "Finished", CLIENT), self.abbreviated(f)),
        )

    def established_once(self, i: int) -> z3.BoolRef:
        """Some handshake completed before i (the first handshake is done)."""
        return self._ever("once", i, self.completes)

    def settled(self, i: int) -> z3.BoolRef:
        """The handshake begun by the last ClientHello before i has ended before i.

        Ended means: completed, or refused by the server's no_renegotiation (RFC 5246 §7.2.2).
        """
        return self._ever(
            "settled",
            i,
            lambda e: z3.Or(self.completes(e), self.alert(e, SERVER, "no_renegotiation")),
            reset=self._is_ch,
        )

    def established(self, i: int) -> z3.BoolRef:
        """At i a handshake has completed and none is being negotiated."""
        return z3.And(self.established_once(i), self.settled(i))

    def hello_request_open(self, i: int) -> z3.BoolRef:
        """A HelloRequest that arrived while established is not yet answered before i.

        Answered: by a ClientHello or by the client's no_renegotiation (RFC 5246 §7.4.1.1).
        """
        return self._ever(
            "hr open",
            i,
            lambda h: z3.And(self.is_(h, "HelloRequest"), self.established(h)),
            reset=lambda j: z3.Or(self._is_ch(j), self.alert(j, CLIENT, "no_renegotiation")),
        )

    def renegotiation_offered(self, i: int) -> z3.BoolRef:
        """The last ClientHello before i renegotiates and the server has not answered it yet.

        Answered: by any flow message of the server or by its no_renegotiation.
        """
        return self.last(
            "reneg offered",
            i,
            self._is_ch,
            lambda c: self.seen(c, "ClientHello"),
            z3.BoolVal(False),
            reset=lambda j: z3.Or(
                z3.And(self.flow(j), self.by(j, SERVER)),
                self.alert(j, SERVER, "no_renegotiation"),
            ),
        )

    def closed_by(self, i: int, sender: str) -> z3.BoolRef:
        """``sender`` sent a close_notify before i."""
        return self._ever(f"closed {sender}", i, lambda j: self.alert(j, sender, "close_notify"))

    def fatal_before(self, i: int) -> z3.BoolRef:
        """Some fatal alert came before i."""
        return self._ever("fatal", i, self.fatal)

    def _is_ch(self, j: int) -> z3.BoolRef:
        return self.is_(j, "ClientHello")

    def _is_sh(self, j: int) -> z3.BoolRef:
        return self.is_(j, "ServerHello")


def _holds(term: Term, domain: tuple[object, ...], allowed: tuple[object, ...]) -> z3.BoolRef:
    if z3.is_bool(term):
        if set(allowed) >= {False, True}:
            return z3.BoolVal(True)
        return term if True in allowed else z3.Not(term)
    return z3.Or([term == domain.index(v) for v in allowed])


__all__ = ["FLOW_TYPES", "NO_TYPE", "Positions", "families"]
