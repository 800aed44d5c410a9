"""The declarative rule set: RFC sentences as constraints over the positions of a trace.

Why this module exists: it is the second, independent formalization of TLS 1.2 message order.
It was written from the RFC text alone — each rule quotes the sentence it formalizes — without
reading ``model/tables.py``, so that a mistake in either shows up as a disagreement in the
bounded equivalence check (``declarative``). A rule is a condition on one position i given the
positions before it ("if position i is a ServerKeyExchange, then ..."); a trace is a legal prefix
iff every real position satisfies every rule. The auxiliary notions (current handshake, the
ServerHello in effect, completion) live in ``positions``.

Where the RFC leaves a choice (SHOULD, MAY), a rule follows the letter of the MUST sentences and
says so; the equivalence check then shows whether the tables chose alike. Differences the check
found were filed for the lead (/work/team/model-requests.md, D1-D3); D2 and D3 were fixed in the
tables. One reading was settled the other way, and so is not a rule here: RFC 5246 §7.2.1 "The
other party MUST respond with a close_notify alert of its own and close down the connection
immediately, discarding any pending writes" does not constrain a capture: the peer's data that
was in flight when the close_notify was sent legitimately follows it in capture order, and the
issue's contract is that close_notify "ends what that sender may send" — only the sender
(``close-notify-ends-sender``; lead's decision on D1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import z3
from tlsmodel.model.alphabet import CLIENT, SERVER
from tlsmodel.model.machine import SYMBOL_ATTRIBUTES, Symbol
from tlsmodel.model.tables import BOOL
from tlsmodel.proofs import conditions as c
from tlsmodel.proofs.encoding import ATTR_DOMAINS, TYPE_INDEX, Sym, new_symbol
from tlsmodel.proofs.positions import Positions

Build = Callable[[Positions, int], z3.BoolRef]


@dataclass(frozen=True, slots=True)
class Rule:
    """One RFC sentence as a constraint: ``at(pos, i)`` must hold at every real position i."""

    name: str
    rfc: str
    quote: str
    at: Build

    def constraint(self, pos: Positions) -> z3.BoolRef:
        """The rule over all positions of ``pos`` below its length."""
        return z3.And([z3.Implies(i < pos.length, self.at(pos, i)) for i in range(pos.n)])


RULES: tuple[Rule, ...] = (
    Rule(
        "senders",
        "RFC 5246 §7.3, §7.4.1.1",
        "The HelloRequest message MAY be sent by the server at any time. / The client sends a "
        "ClientHello message to which the server must respond with a ServerHello message "
        "(Figure 1 fixes the sender of every other message)",
        c.senders,
    ),
    Rule(
        "client-starts-with-client-hello",
        "RFC 5246 §7.4.1.2",
        "When a client first connects to a server, it is required to send the ClientHello as "
        'its first message. (Alerts excepted: §7.2.2 "Whenever an implementation encounters a '
        'condition which is defined as a fatal alert, it MUST send the appropriate alert"; '
        '§7.2.1 "Either party may initiate a close by sending a close_notify alert.")',
        c.client_starts_with_client_hello,
    ),
    Rule(
        "server-waits-for-client-hello",
        "RFC 5246 §7.4.1.1",
        "The HelloRequest message MAY be sent by the server at any time. [...] Servers SHOULD "
        "NOT send a HelloRequest immediately upon the client's initial connection. It is the "
        "client's job to send a ClientHello at that time.",
        c.server_waits_for_client_hello,
    ),
    Rule(
        "client-hello-renegotiates-established",
        "RFC 5246 §7.4.1.2, §7.4",
        "The client can also send a ClientHello in response to a HelloRequest or on its own "
        "initiative in order to renegotiate the security parameters in an existing "
        "connection.",
        c.client_hello_renegotiates,
    ),
    Rule(
        "server-hello-answers-client-hello",
        "RFC 5246 §7.4.1.2, §7.4.1.3",
        "After sending the ClientHello message, the client waits for a ServerHello message. "
        "Any handshake message returned by the server, except for a HelloRequest, is treated "
        "as a fatal error.",
        c.server_hello,
    ),
    Rule(
        "renegotiation-info-iff-secure",
        "RFC 5746 §3.6, §3.7; RFC 5246 §7.4.1.4",
        "If the secure_renegotiation flag is set to TRUE, the server MUST include an empty "
        '"renegotiation_info" extension in the ServerHello message. / The server MUST include '
        'a "renegotiation_info" extension containing the saved client_verify_data and '
        "server_verify_data in the ServerHello.",
        c.renegotiation_info,
    ),
    Rule(
        "server-certificate-after-server-hello",
        "RFC 5246 §7.4.2",
        "This message will always immediately follow the ServerHello message.",
        c.server_certificate,
    ),
    Rule(
        "server-certificate-required",
        "RFC 5246 §7.4.2",
        "The server MUST send a Certificate message whenever the agreed-upon key exchange "
        "method uses certificates for authentication",
        c.server_certificate_required,
    ),
    Rule(
        "server-certificate-not-empty",
        "RFC 5246 §7.4.2",
        "certificate_list: This is a sequence (chain) of certificates. The sender's "
        "certificate MUST come first in the list.",
        c.server_certificate_not_empty,
    ),
    Rule(
        "certificate-status",
        "RFC 6066 §8",
        'If a server returns a "CertificateStatus" message, then the server MUST have '
        'included an extension of type "status_request" with empty "extension_data" in the '
        "extended server hello. [...] MAY return a suitable certificate status response to the "
        "client along with their certificate.",
        c.certificate_status,
    ),
    Rule(
        "server-key-exchange-position",
        "RFC 5246 §7.4.3; RFC 4492 §2; RFC 4279 §2-4",
        "This message will be sent immediately after the server Certificate message (or the "
        "ServerHello message, if this is an anonymous negotiation). [...] It is not legal to "
        "send the ServerKeyExchange message for the following key exchange methods: RSA, "
        "DH_DSS, DH_RSA",
        c.server_key_exchange,
    ),
    Rule(
        "server-key-exchange-required",
        "RFC 5246 §7.4.3; RFC 4492 §2",
        "The ServerKeyExchange message is sent by the server only when the server Certificate "
        "message (if sent) does not contain enough data to allow the client to exchange a "
        "premaster secret. This is true for the following key exchange methods: DHE_DSS, "
        "DHE_RSA, DH_anon",
        c.server_key_exchange_required,
    ),
    Rule(
        "certificate-request",
        "RFC 5246 §7.4.4",
        "A non-anonymous server can optionally request a certificate from the client, if "
        "appropriate for the selected cipher suite. This message, if sent, will immediately "
        "follow the ServerKeyExchange message (if it is sent; otherwise, this message follows "
        "the server's Certificate message).",
        c.certificate_request,
    ),
    Rule(
        "server-hello-done",
        "RFC 5246 §7.4.5",
        "The ServerHelloDone message is sent by the server to indicate the end of the "
        "ServerHello and associated messages.",
        c.server_hello_done,
    ),
    Rule(
        "client-certificate-only-if-requested",
        "RFC 5246 §7.4.6",
        "This is the first message the client can send after receiving a ServerHelloDone "
        "message. This message is only sent if the server requests a certificate.",
        c.client_certificate,
    ),
    Rule(
        "client-certificate-required",
        "RFC 5246 §7.3, §7.4.6",
        "If the server has sent a CertificateRequest message, the client MUST send the "
        "Certificate message. / If no suitable certificate is available, the client MUST send "
        "a certificate message containing no certificates.",
        c.client_certificate_required,
    ),
    Rule(
        "fixed-dh-certificate",
        "RFC 5246 §7.4.6; RFC 4492 §3",
        "rsa_fixed_dh / dss_fixed_dh: Diffie-Hellman public key; MUST use the same parameters "
        "as server's key. / ECDSA_fixed_ECDH and RSA_fixed_ECDH mechanisms are usable with "
        "ECDH_ECDSA and ECDH_RSA.",
        c.fixed_dh_certificate,
    ),
    Rule(
        "client-key-exchange",
        "RFC 5246 §7.4.7",
        "It MUST immediately follow the client certificate message, if it is sent. Otherwise, "
        "it MUST be the first message sent by the client after it receives the "
        "ServerHelloDone message.",
        c.client_key_exchange,
    ),
    Rule(
        "certificate-verify-only-if-signing",
        "RFC 5246 §7.4.8",
        "This message is only sent following a client certificate that has signing capability "
        "(i.e., all certificates except those containing fixed Diffie-Hellman parameters). "
        "When sent, it MUST immediately follow the client key exchange message.",
        c.certificate_verify,
    ),
    Rule(
        "certificate-verify-required",
        "RFC 5246 §7.3",
        "If the client has sent a certificate with signing ability, a digitally-signed "
        "CertificateVerify message is sent to explicitly verify possession of the private key "
        "in the certificate.",
        c.certificate_verify_required,
    ),
    Rule(
        "client-change-cipher-spec",
        "RFC 5246 §7.3",
        "At this point, a ChangeCipherSpec message is sent by the client [...] / At this "
        "point, both client and server MUST send ChangeCipherSpec messages and proceed "
        "directly to Finished messages.",
        c.client_ccs,
    ),
    Rule(
        "server-change-cipher-spec",
        "RFC 5246 §7.3; RFC 5077 §3.3",
        "In response, the server will send its own ChangeCipherSpec message [...] / This "
        "message is sent by the server during the TLS handshake before the ChangeCipherSpec "
        "message.",
        c.server_ccs,
    ),
    Rule(
        "new-session-ticket-only-if-echoed",
        "RFC 5077 §3.3, §3.1",
        "This message MUST NOT be sent if the server did not include a SessionTicket "
        "extension in the ServerHello.",
        c.new_session_ticket,
    ),
    Rule(
        "new-session-ticket-required",
        "RFC 5077 §3.3",
        "This message MUST be sent if the server included a SessionTicket extension in the "
        "ServerHello.",
        c.new_session_ticket_required,
    ),
    Rule(
        "finished-after-change-cipher-spec",
        "RFC 5246 §7.4.9",
        "A Finished message is always sent immediately after a change cipher spec message to "
        "verify that the key exchange and authentication processes were successful.",
        c.finished_after_ccs,
    ),
    Rule(
        "change-cipher-spec-then-finished",
        "RFC 5246 §7.3, §7.2.2",
        "The client then immediately sends the Finished message under the new algorithms, "
        'keys, and secrets. (Unless the sender stops: §7.2.2 "Whenever an implementation '
        "encounters a condition which is defined as a fatal alert, it MUST send the "
        'appropriate alert prior to closing the connection"; §7.2.1 "Either party may '
        'initiate a close by sending a close_notify alert.")',
        c.ccs_then_finished,
    ),
    Rule(
        "application-data-after-first-handshake",
        "RFC 5246 §7.3, §7.4.9",
        "Application data MUST NOT be sent prior to the completion of the first handshake "
        "(before a cipher suite other than TLS_NULL_WITH_NULL_NULL is established).",
        c.application_data,
    ),
    Rule(
        "alert-levels",
        "RFC 5246 §7.2.2",
        "unexpected_message [...] This alert is always fatal / no_renegotiation [...] This "
        "message is always a warning.",
        c.alert_levels,
    ),
    Rule(
        "fatal-alert-ends-connection",
        "RFC 5246 §7.2.2",
        "Upon transmission or receipt of a fatal alert message, both parties immediately close "
        "the connection.",
        c.fatal_ends_connection,
    ),
    Rule(
        "close-notify-ends-sender",
        "RFC 5246 §7.2.1",
        "close_notify: This message notifies the recipient that the sender will not send any "
        "more messages on this connection.",
        c.close_notify_ends_sender,
    ),
    Rule(
        "client-no-renegotiation",
        "RFC 5246 §7.4.1.1, §7.2.2",
        "This message will be ignored by the client if the client is currently negotiating a "
        "session. This message MAY be ignored by the client if it does not wish to renegotiate "
        "a session, or the client may, if it wishes, respond with a no_renegotiation alert.",
        c.client_no_renegotiation,
    ),
    Rule(
        "server-no-renegotiation",
        "RFC 5246 §7.2.2",
        "no_renegotiation: Sent by the client in response to a hello request or by the server "
        "in response to a client hello after initial handshaking.",
        c.server_no_renegotiation,
    ),
)


def rule_names() -> list[str]:
    """The names of the declarative rules, in their order."""
    return [rule.name for rule in RULES]


def position_ok(pos: Positions, i: int, rules: Sequence[Rule] = RULES) -> z3.BoolRef:
    """Position i satisfies every rule."""
    return z3.And([rule.at(pos, i) for rule in rules])


def legal_prefix(pos: Positions, rules: Sequence[Rule] = RULES) -> z3.BoolRef:
    """The trace (its first ``pos.length`` positions) is a legal prefix: all rules hold."""
    return z3.And([rule.constraint(pos) for rule in rules])


def legal_end(pos: Positions, i: int) -> z3.BoolRef:
    """A legal prefix of length i is also a complete trace: it may stop at i.

    Issue 2's verdict "conforms": completed, or ended legally by an alert. Completed: a
    handshake has completed and none is being negotiated (RFC 5246 §7.3: "At this point, the
    handshake is complete, and the client and server may begin to exchange application layer
    data"). Ended by an alert: a fatal alert (§7.2.2 "both parties immediately close the
    connection") or a close_notify from either side (§7.2.1 "It is not required for the
    initiator of the close to wait for the responding close_notify alert").
    """
    return z3.Or(
        pos.established(i),
        pos.fatal_before(i),
        pos.closed_by(i, CLIENT),
        pos.closed_by(i, SERVER),
    )


def broken_rules(symbols: Sequence[Symbol], rules: Sequence[Rule] = RULES) -> list[tuple[int, str]]:
    """The (position, rule name) pairs a concrete trace of machine symbols breaks.

    Empty iff the trace is a legal prefix by the rules. The positions are z3 constants, so each
    rule simplifies to true or false. Attributes a message does not have are read as the first
    value of their domain (no rule reads them).
    """
    pos = Positions([constant_symbol(symbol) for symbol in symbols], z3.IntVal(len(symbols)))
    return [
        (i, rule.name)
        for i in range(len(symbols))
        for rule in rules
        if not z3.is_true(z3.simplify(rule.at(pos, i)))
    ]


def ends_legally(symbols: Sequence[Symbol]) -> bool:
    """Whether a concrete trace (a legal prefix) may stop where it does (``legal_end``)."""
    pos = Positions([constant_symbol(symbol) for symbol in symbols], z3.IntVal(len(symbols)))
    return z3.is_true(z3.simplify(legal_end(pos, len(symbols))))


def constant_symbol(symbol: Symbol) -> Sym:
    """A machine symbol as z3 constants (absent attributes: the first value of the domain)."""
    sender, message, *values = symbol
    names = [a for a, _ in SYMBOL_ATTRIBUTES.get(str(message), ())]
    given = dict(zip(names, values, strict=True))
    attrs: dict[tuple[str, str], z3.ExprRef] = {}
    for key, domain in ATTR_DOMAINS.items():
        value = given.get(key[1], domain[0]) if key[0] == message else domain[0]
        if domain == BOOL:
            attrs[key] = z3.BoolVal(bool(value))
        else:
            attrs[key] = z3.BitVecVal(domain.index(value), max(1, (len(domain) - 1).bit_length()))
    kind = z3.BitVecVal(TYPE_INDEX[str(message)], max(1, (len(TYPE_INDEX) - 1).bit_length()))
    return Sym(z3.BoolVal(sender == SERVER), kind, attrs)


@dataclass(frozen=True)
class RuleSystem:
    """The rule set as a transition system over the notions of ``positions``.

    Built once on one position whose past is symbolic (``Positions(symbolic_start=True)``):
    ``history`` are the notions before the position (constants), ``next`` the same notions
    after it, ``ok`` "the position keeps every rule". Copied by substitution to every position
    of an unrolling (bounded check) or used as is in Horn clauses (all lengths). It is the same
    definition as the rules over a whole trace, only cut at each position.
    """

    rules: tuple[Rule, ...]
    symbol: Sym
    history: dict[str, z3.ExprRef]
    initial: dict[str, z3.ExprRef]
    next: dict[str, z3.ExprRef]
    ok_at: z3.BoolRef
    domains_at: z3.BoolRef
    end_at: z3.BoolRef

    def fresh(self, prefix: str) -> dict[str, z3.ExprRef]:
        """New constants for the notions, named ``{prefix}.h.<notion>``."""
        return {n: z3.Const(f"{prefix}.h.{n}", t.sort()) for n, t in self.history.items()}

    def is_initial(self, h: dict[str, z3.ExprRef]) -> z3.BoolRef:
        """``h`` holds the notions of the empty trace."""
        return z3.And([h[n] == self.initial[n] for n in self.history])

    def _pairs(self, h: dict[str, z3.ExprRef], sym: Sym) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
        return [(self.history[n], h[n]) for n in self.history] + list(
            zip(self.symbol.terms(), sym.terms(), strict=True)
        )

    def ok(self, h: dict[str, z3.ExprRef], sym: Sym) -> z3.BoolRef:
        """A position ``sym`` after notions ``h`` keeps every rule."""
        return z3.substitute(self.ok_at, *self._pairs(h, sym))

    def step(self, h: dict[str, z3.ExprRef], sym: Sym, h2: dict[str, z3.ExprRef]) -> z3.BoolRef:
        """``h2`` are the notions after position ``sym``, given ``h`` before it."""
        pairs = self._pairs(h, sym)
        return z3.And([h2[n] == z3.substitute(self.next[n], *pairs) for n in self.history])

    def may_end(self, h: dict[str, z3.ExprRef]) -> z3.BoolRef:
        """A trace whose notions are ``h`` may stop here (``legal_end``)."""
        return z3.substitute(self.end_at, *[(self.history[n], h[n]) for n in self.history])

    def domains(self, sym: Sym) -> z3.BoolRef:
        """``sym`` holds values of the alphabet's domains."""
        return z3.substitute(self.domains_at, *zip(self.symbol.terms(), sym.terms(), strict=True))


_SYSTEMS: dict[tuple[Rule, ...], RuleSystem] = {}


def rule_system(rules: tuple[Rule, ...] = RULES) -> RuleSystem:
    """The (cached) transition system of a rule set."""
    found = _SYSTEMS.get(rules)
    if found is None:
        sym = new_symbol("rs")
        pos = Positions([sym], symbolic_start=True)
        ok = position_ok(pos, 0, rules)
        end = legal_end(pos, 0)
        nxt = pos.next_history()
        found = _SYSTEMS[rules] = RuleSystem(
            rules, sym, pos.history(), pos.initial_history(), nxt, ok, pos.domains(), end
        )
    return found
