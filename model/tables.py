"""The TLS 1.2 handshake as tables: the one source of truth for every tool in tlsmodel.

Rules of this module
--------------------
* Everything that decides which message may come next lives here, as data. The checker
  (``machine``), the z3 encoding (``tlsmodel.proofs``), the diagrams and the trace generator all
  read these tables; none of them writes an ordering rule of its own.
* The tables describe the *composite* view: both directions of one connection in capture order.
  A message is legal if its sender may send it given everything sent and received before it.
  The per-role views (what a client / server may send and receive next) are projections of the
  same rows (``machine.role_view``, ``Checker.next_for``).
* Each row cites the RFC sentence that justifies it, so the table can be read against RFC 5246
  §7.3-7.4 with a pencil.

Theory of operation
-------------------
A configuration is a control state (``STATES``) plus a few variables (``VARIABLES``) that remember
what the ServerHello decided: the key-exchange family, whether a ticket or a certificate status
was promised, whether the connection is secure for renegotiation (RFC 5746), whether a handshake
has already completed (so application data may flow), whether a HelloRequest is outstanding, and
whether each side has sent close_notify.

A row fires when its state matches, the message type and sender match, and every atom of its
guard holds. An atom is ``(path, allowed values)`` where path is

* ``msg.<attr>``: an attribute of the message, abstracted (``machine.SYMBOL_ATTRIBUTES``): for a
  ServerHello ``family``, ``resumed``, ``ticket``/``status``/``ri`` (session_ticket,
  status_request and renegotiation_info echoed); for a Certificate ``empty`` and ``fixed_dh``;
  for an Alert ``level`` and ``kind`` (``alphabet.alert_kind``);
* ``var.<name>``: a variable of the configuration;
* ``fam.<field>``: a field of ``suites.FAMILIES[var.fam]``.

A row's effects assign variables from message attributes (``"msg.x"``) or constants. Rows whose
state is ``ANY`` or ``OUTSIDE_GAP`` apply in every state but CLOSED (``OUTSIDE_GAP``: except
where the sender sits between its ChangeCipherSpec and its Finished; never in the states a row
names in ``unless``) and keep the state (``SAME``). A
sender that has sent close_notify sends nothing more (``SENDER_GUARD``). A message for which no
row fires is a deviation; ``STATES[s].rule`` says what RFC 5246 expects in state ``s``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from tlsmodel.model.suites import FAMILIES

Value = str | bool | None
Atom = tuple[str, tuple[Value, ...]]


@dataclass(frozen=True, slots=True)
class State:
    """A control state: a name, what it means, whose CCS→Finished gap it is, the rule in force."""

    name: str
    meaning: str
    gap: str | None
    rule: str


@dataclass(frozen=True, slots=True)
class Row:
    """One transition: in ``state``, ``sender`` may send ``message`` if ``guard`` holds."""

    state: str
    sender: str
    message: str
    guard: tuple[Atom, ...]
    target: str
    effects: tuple[tuple[str, Value], ...]
    rfc: str
    optional: bool = False  # the RFC lets the sender leave this message out
    kind: str = "handshake"  # handshake | resumption | renegotiation | anytime (for diagrams)
    unless: tuple[str, ...] = ()  # for ANY / OUTSIDE_GAP rows: states with a row of their own


@dataclass(frozen=True, eq=False)
class Model:
    """A set of tables. ``TLS12`` is the model; mutants (``proofs``) are other instances.

    Compared by identity, so tools can cache what they compute per model.
    """

    name: str
    states: dict[str, State]
    rows: tuple[Row, ...]


ANY: Final = "ANY"
OUTSIDE_GAP: Final = "OUTSIDE_GAP"
SAME: Final = "SAME"

BOOL: Final = (False, True)
VARIABLES: Final[dict[str, tuple[Value, ...]]] = {
    "fam": (None, *FAMILIES),
    "ticket": BOOL,
    "status": BOOL,
    "secure": BOOL,
    "reneg": BOOL,
    "hr": BOOL,
    "client_closed": BOOL,
    "server_closed": BOOL,
}
INITIAL_STATE: Final = "START"
INITIAL_VARIABLES: Final[dict[str, Value]] = {name: dom[0] for name, dom in VARIABLES.items()}

# RFC 5246 §7.2.1: "Any data received after a closure alert is ignored" — after its close_notify
# a sender sends nothing more. Its peer is not stopped here: §7.2.1 asks it to answer with its own
# close_notify and discard pending writes, but in capture order data it sent before the alert
# arrived (a half-closed HTTP exchange, say) appears after the alert, and the contract is
# that close_notify "ends what that sender may send".
SENDER_GUARD: Final[dict[str, Atom]] = {
    "client": ("var.client_closed", (False,)),
    "server": ("var.server_closed", (False,)),
}

# The tables keep a hand layout (one row per call, RFC text beside it): the formatter stays out.
# fmt: off
STATES: Final[dict[str, State]] = {
    s.name: s
    for s in (
        State("START", "nothing sent yet", None,
              "RFC 5246 §7.4.1.2: the client sends ClientHello as its first message"),
        State("CLIENT_HELLO", "ClientHello sent", None,
              "RFC 5246 §7.4.1.3: the server answers a ClientHello with ServerHello"),
        State("SERVER_HELLO", "ServerHello of a full handshake", None,
              "RFC 5246 §7.4.2/§7.4.3: Certificate if the key exchange uses certificates, else "
              "ServerKeyExchange if it needs one, else ServerHelloDone"),
        State("SERVER_CERTIFICATE", "server Certificate sent", None,
              "RFC 5246 §7.4.3-7.4.5, RFC 6066 §8: CertificateStatus (if status_request was "
              "echoed), ServerKeyExchange (if the key exchange needs it), CertificateRequest or "
              "ServerHelloDone"),
        State("CERTIFICATE_STATUS", "CertificateStatus sent", None,
              "RFC 6066 §8, RFC 5246 §7.4.3-7.4.5: ServerKeyExchange (if the key exchange needs "
              "it), CertificateRequest or ServerHelloDone"),
        State("SERVER_KEY_EXCHANGE", "ServerKeyExchange sent", None,
              "RFC 5246 §7.4.4/§7.4.5: CertificateRequest (non-anonymous servers) or "
              "ServerHelloDone"),
        State("CERTIFICATE_REQUEST", "CertificateRequest sent", None,
              "RFC 5246 §7.4.5: ServerHelloDone ends the server's hello flight"),
        State("HELLO_DONE", "client key exchange due: ServerHelloDone without a request, or an "
              "empty / fixed-DH client Certificate", None,
              "RFC 5246 §7.4.7: ClientKeyExchange MUST immediately follow the client "
              "Certificate, if sent, else be the first client message after ServerHelloDone"),
        State("HELLO_DONE_CERT_REQUESTED", "ServerHelloDone after CertificateRequest", None,
              "RFC 5246 §7.4.6: the client's first message after ServerHelloDone is its "
              "Certificate (empty if it has none)"),
        State("CLIENT_CERTIFICATE", "client sent a certificate with signing capability", None,
              "RFC 5246 §7.4.7: ClientKeyExchange MUST immediately follow the client Certificate"),
        State("CLIENT_KEY_EXCHANGE", "ClientKeyExchange sent, nothing to verify", None,
              "RFC 5246 §7.1, §7.3: the client sends ChangeCipherSpec after its key exchange "
              "(and CertificateVerify, when due)"),
        State("CLIENT_KEY_EXCHANGE_VERIFY", "ClientKeyExchange sent, CertificateVerify due", None,
              "RFC 5246 §7.4.8: CertificateVerify MUST immediately follow ClientKeyExchange "
              "after a client certificate with signing capability"),
        State("CLIENT_CCS", "client ChangeCipherSpec sent", "client",
              "RFC 5246 §7.4.9: a Finished message is always sent immediately after a change "
              "cipher spec message"),
        State("CLIENT_FINISHED", "client Finished of a full handshake", None,
              "RFC 5077 §3.3 / RFC 5246 §7.3: NewSessionTicket if the ServerHello echoed "
              "session_ticket, else the server's ChangeCipherSpec"),
        State("NEW_SESSION_TICKET", "NewSessionTicket sent (full handshake)", None,
              "RFC 5077 §3.3: NewSessionTicket is followed by the server's ChangeCipherSpec"),
        State("SERVER_CCS", "server ChangeCipherSpec sent (full handshake)", "server",
              "RFC 5246 §7.4.9: a Finished message is always sent immediately after a change "
              "cipher spec message"),
        State("RESUMED", "ServerHello resuming a session", None,
              "RFC 5246 §7.3 (Figure 2), RFC 5077 §3.1: NewSessionTicket if session_ticket was "
              "echoed, then the server's ChangeCipherSpec"),
        State("RESUMED_TICKET", "NewSessionTicket sent (abbreviated handshake)", None,
              "RFC 5077 §3.1: the renewed ticket is followed by the server's ChangeCipherSpec"),
        State("RESUMED_SERVER_CCS", "server ChangeCipherSpec sent (abbreviated)", "server",
              "RFC 5246 §7.4.9: a Finished message is always sent immediately after a change "
              "cipher spec message"),
        State("RESUMED_SERVER_FINISHED", "server Finished of an abbreviated handshake", None,
              "RFC 5246 §7.3 (Figure 2): the client answers with ChangeCipherSpec and Finished"),
        State("RESUMED_CLIENT_CCS", "client ChangeCipherSpec sent (abbreviated)", "client",
              "RFC 5246 §7.4.9: a Finished message is always sent immediately after a change "
              "cipher spec message"),
        State("ESTABLISHED", "handshake complete", None,
              "RFC 5246 §7.4.1.1-7.4.1.2: application data, or a new handshake "
              "(renegotiation) started by ClientHello or requested by HelloRequest"),
        State("CLOSED", "a fatal alert ended the connection", None,
              "RFC 5246 §7.2.2: upon transmission or receipt of a fatal alert message, both "
              "parties immediately close the connection"),
    )
}

_C, _S = "client", "server"
# ServerHello variants: the first handshake records whether the connection is secure
# (RFC 5746 §3.4/§3.6); a renegotiating ServerHello MUST carry renegotiation_info iff it is.
_SH_INITIAL: Final[tuple[Atom, ...]] = (("var.reneg", (False,)),)
_SH_SECURE: Final[tuple[Atom, ...]] = (("var.reneg", (True,)), ("var.secure", (True,)),
                                       ("msg.ri", (True,)))
_SH_INSECURE: Final[tuple[Atom, ...]] = (("var.reneg", (True,)), ("var.secure", (False,)),
                                         ("msg.ri", (False,)))
_SH_EFFECTS: Final = (("fam", "msg.family"), ("ticket", "msg.ticket"), ("status", "msg.status"))
_RFC_SH: Final = "RFC 5246 §7.4.1.3; RFC 5746 §3.4-3.7 (renegotiation_info iff secure)"

_SKE_ALLOWED: Final[Atom] = ("fam.ske", ("required", "optional"))
_SKE_NOT_REQUIRED: Final[Atom] = ("fam.ske", ("optional", "forbidden"))

ROWS: Final[tuple[Row, ...]] = (
    # --- Hello phase (RFC 5246 §7.3 Figure 1, §7.4.1) ---
    Row("START", _C, "ClientHello", (), "CLIENT_HELLO", (),
        "RFC 5246 §7.4.1.2: the client's first message is ClientHello"),
    Row("ESTABLISHED", _C, "ClientHello", (), "CLIENT_HELLO", (("hr", False),),
        "RFC 5246 §7.4.1.2: ClientHello in response to HelloRequest or on the client's own "
        "initiative renegotiates", kind="renegotiation"),
    *(
        Row("CLIENT_HELLO", _S, "ServerHello", (("msg.resumed", (False,)), *variant),
            "SERVER_HELLO", _SH_EFFECTS + extra, _RFC_SH,
            kind="handshake" if variant is _SH_INITIAL else "renegotiation")
        for variant, extra in ((_SH_INITIAL, (("secure", "msg.ri"),)), (_SH_SECURE, ()),
                               (_SH_INSECURE, ()))
    ),
    *(
        Row("CLIENT_HELLO", _S, "ServerHello", (("msg.resumed", (True,)), *variant),
            "RESUMED", _SH_EFFECTS + extra,
            "RFC 5246 §7.3 (Figure 2): the server resumes the session named in ClientHello; "
            + _RFC_SH, kind="resumption")
        for variant, extra in ((_SH_INITIAL, (("secure", "msg.ri"),)), (_SH_SECURE, ()),
                               (_SH_INSECURE, ()))
    ),
    Row("CLIENT_HELLO", _S, "Alert",
        (("var.reneg", (True,)), ("msg.level", ("warning",)), ("msg.kind", ("no_renegotiation",))),
        "ESTABLISHED", (),
        "RFC 5246 §7.2.2: no_renegotiation, sent by the server in response to a client hello "
        "after initial handshaking", optional=True, kind="renegotiation"),
    # --- Server hello flight (RFC 5246 §7.4.2-7.4.5, RFC 6066 §8) ---
    Row("SERVER_HELLO", _S, "Certificate",
        (("fam.server_cert", ("required",)), ("msg.empty", (False,))), "SERVER_CERTIFICATE", (),
        "RFC 5246 §7.4.2: the server MUST send a Certificate whenever the agreed-upon key "
        "exchange method uses certificates for authentication"),
    Row("SERVER_HELLO", _S, "ServerKeyExchange",
        (("fam.server_cert", ("forbidden",)), _SKE_ALLOWED), "SERVER_KEY_EXCHANGE", (),
        "RFC 5246 §7.4.3: ServerKeyExchange immediately after ServerHello when the server sends "
        "no Certificate (DH_anon; RFC 4279 §2-3, RFC 4492 §2.5)", optional=True),
    Row("SERVER_HELLO", _S, "ServerHelloDone",
        (("fam.server_cert", ("forbidden",)), _SKE_NOT_REQUIRED), "HELLO_DONE", (),
        "RFC 4279 §2: a PSK server with no identity hint omits ServerKeyExchange; RFC 2712 §3"),
    Row("SERVER_CERTIFICATE", _S, "CertificateStatus", (("var.status", (True,)),),
        "CERTIFICATE_STATUS", (),
        "RFC 6066 §8: CertificateStatus immediately after Certificate, only if the ServerHello "
        "carried status_request (and even then optional)", optional=True),
    *(
        row
        for state in ("SERVER_CERTIFICATE", "CERTIFICATE_STATUS")
        for row in (
            Row(state, _S, "ServerKeyExchange", (_SKE_ALLOWED,), "SERVER_KEY_EXCHANGE", (),
                "RFC 5246 §7.4.3: ServerKeyExchange only for key exchanges that need it "
                "(never RSA, DH_DSS, DH_RSA), after Certificate", optional=True),
            Row(state, _S, "CertificateRequest",
                (_SKE_NOT_REQUIRED, ("fam.cert_request", (True,))), "CERTIFICATE_REQUEST", (),
                "RFC 5246 §7.4.4: a non-anonymous server may request a client certificate, "
                "after ServerKeyExchange if sent", optional=True),
            Row(state, _S, "ServerHelloDone", (_SKE_NOT_REQUIRED,), "HELLO_DONE", (),
                "RFC 5246 §7.4.5: ServerHelloDone ends the server's hello flight; §7.4.3 "
                "ServerKeyExchange is required first for DHE_*/ECDHE_* suites"),
        )
    ),
    Row("SERVER_KEY_EXCHANGE", _S, "CertificateRequest", (("fam.cert_request", (True,)),),
        "CERTIFICATE_REQUEST", (),
        "RFC 5246 §7.4.4: a non-anonymous server can optionally request a certificate; it is a "
        "fatal handshake_failure for an anonymous server to do so", optional=True),
    Row("SERVER_KEY_EXCHANGE", _S, "ServerHelloDone", (), "HELLO_DONE", (),
        "RFC 5246 §7.4.5: ServerHelloDone ends the server's hello flight"),
    Row("CERTIFICATE_REQUEST", _S, "ServerHelloDone", (), "HELLO_DONE_CERT_REQUESTED", (),
        "RFC 5246 §7.4.5: ServerHelloDone ends the server's hello flight"),
    # --- Client flight (RFC 5246 §7.4.6-7.4.9) ---
    Row("HELLO_DONE_CERT_REQUESTED", _C, "Certificate",
        (("msg.empty", (True,)), ("msg.fixed_dh", (False,))), "HELLO_DONE", (),
        "RFC 5246 §7.4.6: if no suitable certificate is available, the client MUST send a "
        "certificate message containing no certificates (which holds no fixed-DH key either)"),
    Row("HELLO_DONE_CERT_REQUESTED", _C, "Certificate",
        (("msg.empty", (False,)), ("msg.fixed_dh", (True,)), ("fam.fixed_dh", (True,))),
        "HELLO_DONE", (),
        "RFC 5246 §7.4.8: no CertificateVerify after a certificate containing fixed "
        "Diffie-Hellman parameters (static DH_*/ECDH_* suites only; RFC 4492 §3)"),
    Row("HELLO_DONE_CERT_REQUESTED", _C, "Certificate",
        (("msg.empty", (False,)), ("msg.fixed_dh", (False,))), "CLIENT_CERTIFICATE", (),
        "RFC 5246 §7.4.6: the client's first message after ServerHelloDone, when a certificate "
        "was requested"),
    Row("HELLO_DONE", _C, "ClientKeyExchange", (), "CLIENT_KEY_EXCHANGE", (),
        "RFC 5246 §7.4.7: ClientKeyExchange is always sent by the client, right after its "
        "Certificate or as its first message after ServerHelloDone"),
    Row("CLIENT_CERTIFICATE", _C, "ClientKeyExchange", (), "CLIENT_KEY_EXCHANGE_VERIFY", (),
        "RFC 5246 §7.4.7: ClientKeyExchange MUST immediately follow the client certificate"),
    Row("CLIENT_KEY_EXCHANGE_VERIFY", _C, "CertificateVerify", (), "CLIENT_KEY_EXCHANGE", (),
        "RFC 5246 §7.4.8: CertificateVerify follows ClientKeyExchange after any client "
        "certificate with signing capability"),
    Row("CLIENT_KEY_EXCHANGE", _C, "ChangeCipherSpec", (), "CLIENT_CCS", (),
        "RFC 5246 §7.1, §7.3: ChangeCipherSpec after the key exchange (CVE-2014-0224: never "
        "before it)"),
    Row("CLIENT_CCS", _C, "Finished", (), "CLIENT_FINISHED", (),
        "RFC 5246 §7.4.9: Finished immediately after ChangeCipherSpec"),
    # --- Server's final flight (RFC 5077 §3.3, RFC 5246 §7.3) ---
    Row("CLIENT_FINISHED", _S, "NewSessionTicket", (("var.ticket", (True,)),),
        "NEW_SESSION_TICKET", (),
        "RFC 5077 §3.3: NewSessionTicket MUST be sent if the ServerHello included SessionTicket "
        "(and MUST NOT otherwise), before the server's ChangeCipherSpec"),
    Row("CLIENT_FINISHED", _S, "ChangeCipherSpec", (("var.ticket", (False,)),), "SERVER_CCS", (),
        "RFC 5246 §7.3: the server's ChangeCipherSpec follows the client's Finished; RFC 5077 "
        "§3.3: after NewSessionTicket when the ServerHello included SessionTicket"),
    Row("NEW_SESSION_TICKET", _S, "ChangeCipherSpec", (), "SERVER_CCS", (),
        "RFC 5246 §7.3: the server sends ChangeCipherSpec after the client's Finished"),
    Row("SERVER_CCS", _S, "Finished", (), "ESTABLISHED", (("reneg", True),),
        "RFC 5246 §7.4.9: Finished immediately after ChangeCipherSpec; the handshake is complete"),
    # --- Abbreviated handshake (RFC 5246 §7.3 Figure 2, RFC 5077 §3.1) ---
    Row("RESUMED", _S, "NewSessionTicket", (("var.ticket", (True,)),), "RESUMED_TICKET", (),
        "RFC 5077 §3.1/§3.3: NewSessionTicket after ServerHello iff it echoed SessionTicket",
        kind="resumption"),
    Row("RESUMED", _S, "ChangeCipherSpec", (("var.ticket", (False,)),), "RESUMED_SERVER_CCS", (),
        "RFC 5246 §7.3 (Figure 2): the server sends ChangeCipherSpec right after ServerHello",
        kind="resumption"),
    Row("RESUMED_TICKET", _S, "ChangeCipherSpec", (), "RESUMED_SERVER_CCS", (),
        "RFC 5077 §3.1: ChangeCipherSpec after the renewed ticket", kind="resumption"),
    Row("RESUMED_SERVER_CCS", _S, "Finished", (), "RESUMED_SERVER_FINISHED", (),
        "RFC 5246 §7.4.9: Finished immediately after ChangeCipherSpec", kind="resumption"),
    Row("RESUMED_SERVER_FINISHED", _C, "ChangeCipherSpec", (), "RESUMED_CLIENT_CCS", (),
        "RFC 5246 §7.3 (Figure 2): the client answers with ChangeCipherSpec", kind="resumption"),
    Row("RESUMED_CLIENT_CCS", _C, "Finished", (), "ESTABLISHED", (("reneg", True),),
        "RFC 5246 §7.4.9: Finished immediately after ChangeCipherSpec; the handshake is complete",
        kind="resumption"),
    # --- Messages allowed in many states (they keep the state) ---
    Row("ESTABLISHED", _S, "HelloRequest", (), SAME, (("hr", True),),
        "RFC 5246 §7.4.1.1: the server MAY send HelloRequest at any time; after a completed "
        "handshake the client answers with ClientHello, ignores it, or declines",
        optional=True, kind="renegotiation"),
    Row(OUTSIDE_GAP, _S, "HelloRequest", (), SAME, (),
        "RFC 5246 §7.4.1.1: HelloRequest is ignored by a client that is negotiating a session",
        optional=True, kind="anytime", unless=("ESTABLISHED",)),
    Row("ESTABLISHED", _C, "Alert",
        (("var.hr", (True,)), ("msg.level", ("warning",)), ("msg.kind", ("no_renegotiation",))),
        SAME, (("hr", False),),
        "RFC 5246 §7.2.2: no_renegotiation is sent by the client in response to a hello request",
        optional=True, kind="renegotiation"),
    *(
        Row(OUTSIDE_GAP, sender, "ApplicationData", (("var.reneg", (True,)),), SAME, (),
            "RFC 5246 §7.1, §7.4.9: application data only after a completed handshake (no False "
            "Start), and not between a sender's ChangeCipherSpec and its Finished",
            optional=True, kind="anytime", unless=("START",))
        for sender in (_C, _S)
    ),
    *(
        row
        for sender in (_C, _S)
        for row in (
            Row(ANY, sender, "Alert",
                (("msg.level", ("warning",)), ("msg.kind", ("close_notify",))), SAME,
                ((f"{sender}_closed", True),),
                "RFC 5246 §7.2.1: close_notify ends what its sender may send",
                optional=True, kind="anytime"),
            Row(OUTSIDE_GAP, sender, "Alert",
                (("msg.level", ("warning",)), ("msg.kind", ("other",))), SAME, (),
                "RFC 5246 §7.2: after a warning alert the connection can continue; §7.4.9: but "
                "nothing comes between a sender's ChangeCipherSpec and its Finished",
                optional=True, kind="anytime"),
            Row(ANY, sender, "Alert",
                (("msg.level", ("fatal",)), ("msg.kind", ("close_notify", "fatal_only", "other"))),
                "CLOSED", (),
                "RFC 5246 §7.2.2: a fatal alert ends the connection (no_renegotiation is always "
                "a warning)", optional=True, kind="anytime"),
        )
    ),
)
# Messages no state allows, with the sentence that forbids them (used to explain deviations).
REJECTIONS: Final[tuple[Row, ...]] = (
    Row(ANY, "either", "Alert", (("msg.level", ("warning",)), ("msg.kind", ("fatal_only",))),
        SAME, (), "RFC 5246 §7.2.2: this alert is always fatal; it cannot be sent as a warning"),
    Row(ANY, "either", "Alert", (("msg.level", ("fatal",)), ("msg.kind", ("no_renegotiation",))),
        SAME,
        (), "RFC 5246 §7.2.2: no_renegotiation is always a warning"),
    Row(ANY, "either", "unknown-handshake", (), SAME, (),
        "RFC 5246 §7.4: a handshake type TLS 1.2 does not define is an unexpected_message"),
)
# fmt: on

TLS12: Final = Model("TLS 1.2 (RFC 5246, 4279, 4492, 5077, 5746, 6066)", STATES, ROWS)
