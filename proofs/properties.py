"""The named safety properties of TLS 1.2 orderings, each from one RFC sentence.

Rules of this module: a property reads only the accepted symbols (through its monitors, see
``spec``) and the RFC data tables (``suites.FAMILIES``); it never reads the control states or
the rows of ``tables``, so it is a second statement of the RFC, not a copy of the tables. Each
property's ``bad`` is "an accepted step that the RFC sentence forbids"; its ``witness`` is an
accepted step showing that the situation it speaks about really occurs.

The structural properties (determinism, totality, reachability, deadlock freedom) are not about
histories and live in ``structural``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import z3
from tlsmodel.model.tables import BOOL
from tlsmodel.proofs.encoding import Sym, constant_symbol
from tlsmodel.proofs.spec import (
    Monitor,
    Property,
    Step,
    alert,
    echoed,
    family_is,
    flag,
    from_,
    handshake_layer,
    last_was,
    new_handshake,
    seen,
)

C, S = "client", "server"
SENDERS: Final = (C, S)
STATIC_DH: Final = ("DH_RSA", "DH_DSS", "ECDH_RSA", "ECDH_ECDSA")  # RFC 5246 §7.4.6, 4492 §3
CCS_LAST_C: Final = last_was("ccs_last_c", C, "ChangeCipherSpec")
CCS_LAST_S: Final = last_was("ccs_last_s", S, "ChangeCipherSpec")
CCS_LAST: Final = {C: CCS_LAST_C, S: CCS_LAST_S}
FIN_C_EVER: Final = flag("fin_c_ever", lambda s: s.is_msg("Finished", C))
FIN_S_EVER: Final = flag("fin_s_ever", lambda s: s.is_msg("Finished", S))
SKE_REQUIRED: Final = family_is("ske_required", lambda f: f.ske == "required")
SKE_FORBIDDEN: Final = family_is("ske_forbidden", lambda f: f.ske == "forbidden")
CERT_REQUIRED: Final = family_is("cert_required", lambda f: f.server_cert == "required")
CERT_FORBIDDEN: Final = family_is("cert_forbidden", lambda f: f.server_cert == "forbidden")
STATIC_DH_FAMILY: Final = family_is("static_dh", lambda f: f.name in STATIC_DH)
RESUMED: Final = echoed("resumed", "resumed")
CERT_LAST_S: Final = last_was("cert_last_s", S, "Certificate", skip=("HelloRequest",))
HELLO_SEEN: Final = flag("hello_seen", lambda s: s.is_msg("ServerHello"))


def _completed(step: Step) -> z3.BoolRef:
    """Both Finished messages have been accepted at least once: a handshake completed."""
    return z3.And(step.m["fin_c_ever"], step.m["fin_s_ever"])


def _any_sender(test: Callable[[Step, str], z3.BoolRef]) -> Callable[[Step], z3.BoolRef]:
    """A bad condition that holds if ``test`` holds for the client or for the server."""
    return lambda step: z3.Or([test(step, who) for who in SENDERS])


def _cert_kind(sym: Sym) -> z3.ExprRef:
    """The client Certificate just accepted: 1 empty, 2 fixed-(EC)DH, 3 signing-capable."""
    empty = sym.attr_is("Certificate", "empty", True)
    fixed = sym.attr_is("Certificate", "fixed_dh", True)
    return z3.If(empty, z3.BitVecVal(1, 2), z3.If(fixed, z3.BitVecVal(2, 2), z3.BitVecVal(3, 2)))


CLIENT_CERT: Final = Monitor(
    "ccert",
    ("none", "empty", "fixed_dh", "signing"),
    "none",
    lambda sym, m: z3.If(
        sym.is_msg("Certificate", C),
        _cert_kind(sym),
        z3.If(new_handshake(sym), z3.BitVecVal(0, 2), m["ccert"]),
    ),
)
HANDSHAKE_ONLY: Final = (
    "Certificate",
    "ServerKeyExchange",
    "CertificateRequest",
    "ServerHelloDone",
    "ClientKeyExchange",
    "CertificateVerify",
    "CertificateStatus",
)


def _is_any(sym: Sym, *messages: str) -> z3.BoolRef:
    return z3.Or([sym.is_msg(m) for m in messages])


_CLOSED_C: Final = flag("closed_c", lambda s: z3.And(from_(s, C), alert(s, kind="close_notify")))
_CLOSED_S: Final = flag("closed_s", lambda s: z3.And(from_(s, S), alert(s, kind="close_notify")))
_FATAL: Final = flag("fatal", lambda s: alert(s, level="fatal"))


def _fatal_possible(st: Step, who: str, closed: str) -> z3.BoolRef:
    """``who`` has not closed and no fatal alert happened, yet its fatal alert is refused."""
    sym = constant_symbol((who, "Alert", "fatal", "other"))
    closed_after = z3.Or(
        st.m[closed], z3.And(from_(st.sym, who), alert(st.sym, kind="close_notify"))
    )
    fatal_after = z3.Or(st.m["fatal"], alert(st.sym, level="fatal"))
    return z3.And(z3.Not(closed_after), z3.Not(fatal_after), z3.Not(st.enc.enabled(st.after, sym)))


PROPERTIES: Final[tuple[Property, ...]] = (
    Property(
        "finished-after-own-ccs",
        "RFC 5246 §7.4.9",
        "a Finished is accepted only if its sender's previous handshake-layer message was its "
        "ChangeCipherSpec",
        (CCS_LAST_C, CCS_LAST_S),
        _any_sender(
            lambda st, w: z3.And(
                st.sym.is_msg("Finished", w),
                z3.Not(st.m[CCS_LAST[w].name]),
            )
        ),
        lambda st: st.sym.is_msg("Finished"),
    ),
    Property(
        "ccs-then-finished",
        "RFC 5246 §7.4.9",
        "after its ChangeCipherSpec, a sender's next handshake-layer message is its Finished",
        (CCS_LAST_C, CCS_LAST_S),
        _any_sender(
            lambda st, w: z3.And(
                from_(st.sym, w),
                handshake_layer(st.sym),
                z3.Not(st.sym.is_msg("Finished")),
                st.m[CCS_LAST[w].name],
            )
        ),
        lambda st: st.sym.is_msg("ChangeCipherSpec"),
    ),
    Property(
        "no-appdata-before-finished",
        "RFC 5246 §7.1, §7.4.9 (no False Start)",
        "ApplicationData is accepted only after both Finished messages of the first handshake",
        (FIN_C_EVER, FIN_S_EVER),
        lambda st: z3.And(st.sym.is_msg("ApplicationData"), z3.Not(_completed(st))),
        lambda st: st.sym.is_msg("ApplicationData"),
    ),
    Property(
        "no-appdata-in-ccs-gap",
        "RFC 5246 §7.1 note, §7.4.9",
        "no ApplicationData from a sender between its ChangeCipherSpec and its Finished",
        (CCS_LAST_C, CCS_LAST_S),
        _any_sender(
            lambda st, w: z3.And(st.sym.is_msg("ApplicationData", w), st.m[CCS_LAST[w].name])
        ),
        lambda st: z3.And(st.sym.is_msg("ApplicationData"), z3.Not(st.m["ccs_last_c"])),
    ),
    Property(
        "ske-required-present",
        "RFC 5246 §7.4.3; RFC 4492 §2.2, §2.4 (CVE-2014-3572)",
        "in a handshake whose key exchange requires ServerKeyExchange, ServerHelloDone comes "
        "only after a ServerKeyExchange",
        (SKE_REQUIRED, seen("ske", "ServerKeyExchange")),
        lambda st: z3.And(
            st.sym.is_msg("ServerHelloDone"),
            z3.Not(st.m["ske"]),
            st.m["ske_required"],
        ),
        lambda st: z3.And(
            st.sym.is_msg("ServerHelloDone"),
            st.m["ske_required"],
        ),
    ),
    Property(
        "ske-forbidden-absent",
        "RFC 5246 §7.4.3 (FREAK, CVE-2015-0204)",
        "no ServerKeyExchange for key exchanges where it is not legal (RSA, DH_DSS, DH_RSA, "
        "ECDH_*, KRB5, GOST)",
        (SKE_FORBIDDEN,),
        lambda st: z3.And(
            st.sym.is_msg("ServerKeyExchange"),
            st.m["ske_forbidden"],
        ),
        lambda st: st.sym.is_msg("ServerKeyExchange"),
    ),
    Property(
        "server-certificate-iff-family",
        "RFC 5246 §7.4.2; RFC 4279 §2; RFC 4492 §2.5",
        "the server sends Certificate exactly when its key exchange authenticates with "
        "certificates: none for anonymous/PSK/SRP, and none missing before "
        "ServerKeyExchange/ServerHelloDone otherwise",
        (CERT_FORBIDDEN, CERT_REQUIRED, seen("scert", "Certificate", S), RESUMED),
        lambda st: z3.Or(
            z3.And(
                st.sym.is_msg("Certificate", S),
                st.m["cert_forbidden"],
            ),
            z3.And(
                _is_any(st.sym, "ServerKeyExchange", "ServerHelloDone"),
                z3.Not(st.m["scert"]),
                z3.Not(st.m["resumed"]),
                st.m["cert_required"],
            ),
        ),
        lambda st: st.sym.is_msg("Certificate", S),
    ),
    Property(
        "certificate-verify-iff-signing-cert",
        "RFC 5246 §7.4.8",
        "CertificateVerify is sent exactly once after a non-empty client Certificate with "
        "signing capability (not fixed-(EC)DH), and never otherwise",
        (CLIENT_CERT, seen("cv", "CertificateVerify")),
        lambda st: z3.Or(
            z3.And(st.sym.is_msg("CertificateVerify"), z3.Or(st.m["cv"], st.m["ccert"] != 3)),
            z3.And(st.sym.is_msg("ChangeCipherSpec", C), st.m["ccert"] == 3, z3.Not(st.m["cv"])),
        ),
        lambda st: st.sym.is_msg("CertificateVerify"),
    ),
    Property(
        "fixed-dh-only-static",
        "RFC 5246 §7.4.6; RFC 4492 §3",
        "a client Certificate with fixed (EC)DH parameters is accepted only under a static "
        "DH_*/ECDH_* key exchange",
        (STATIC_DH_FAMILY,),
        lambda st: z3.And(
            st.sym.is_msg("Certificate", C),
            st.sym.attr_is("Certificate", "empty", False),
            st.sym.attr_is("Certificate", "fixed_dh", True),
            z3.Not(st.m["static_dh"]),
        ),
        lambda st: z3.And(
            st.sym.is_msg("Certificate", C),
            st.sym.attr_is("Certificate", "empty", False),
            st.sym.attr_is("Certificate", "fixed_dh", True),
        ),
    ),
    Property(
        "client-certificate-iff-requested",
        "RFC 5246 §7.4.4, §7.4.6",
        "the client sends Certificate only after a CertificateRequest, and after one it sends "
        "Certificate (possibly empty) before ClientKeyExchange",
        (seen("cr", "CertificateRequest"), CLIENT_CERT),
        lambda st: z3.Or(
            z3.And(st.sym.is_msg("Certificate", C), z3.Not(st.m["cr"])),
            z3.And(st.sym.is_msg("ClientKeyExchange"), st.m["cr"], st.m["ccert"] == 0),
        ),
        lambda st: st.sym.is_msg("Certificate", C),
    ),
    Property(
        "one-client-key-exchange",
        "RFC 5246 §7.4.7",
        "exactly one ClientKeyExchange per full handshake, after ServerHelloDone and before "
        "the client's ChangeCipherSpec",
        (seen("shd", "ServerHelloDone"), seen("cke", "ClientKeyExchange"), RESUMED),
        lambda st: z3.Or(
            z3.And(st.sym.is_msg("ClientKeyExchange"), z3.Or(z3.Not(st.m["shd"]), st.m["cke"])),
            z3.And(
                st.sym.is_msg("ChangeCipherSpec", C), z3.Not(st.m["resumed"]), z3.Not(st.m["cke"])
            ),
        ),
        lambda st: st.sym.is_msg("ClientKeyExchange"),
    ),
    Property(
        "no-early-ccs",
        "RFC 5246 §7.1, §7.3 (CVE-2014-0224)",
        "in a full handshake no ChangeCipherSpec, from either side, before the ClientKeyExchange",
        (seen("cke", "ClientKeyExchange"), RESUMED),
        lambda st: z3.And(
            st.sym.is_msg("ChangeCipherSpec"), z3.Not(st.m["resumed"]), z3.Not(st.m["cke"])
        ),
        lambda st: z3.And(st.sym.is_msg("ChangeCipherSpec"), z3.Not(st.m["resumed"])),
    ),
    Property(
        "resumption-no-key-exchange",
        "RFC 5246 §7.3 (Figure 2), §7.4.1.2",
        "an abbreviated handshake carries no Certificate, CertificateStatus, ServerKeyExchange, "
        "CertificateRequest, ServerHelloDone, ClientKeyExchange or CertificateVerify",
        (RESUMED,),
        lambda st: z3.And(st.m["resumed"], _is_any(st.sym, *HANDSHAKE_ONLY)),
        lambda st: z3.And(st.m["resumed"], st.sym.is_msg("Finished", C)),
    ),
    Property(
        "ticket-iff-session-ticket",
        "RFC 5077 §3.3",
        "NewSessionTicket is sent, once, before the server's ChangeCipherSpec exactly when the "
        "ServerHello echoed session_ticket",
        (echoed("ticket", "ticket"), seen("nst", "NewSessionTicket")),
        lambda st: z3.Or(
            z3.And(st.sym.is_msg("NewSessionTicket"), z3.Or(z3.Not(st.m["ticket"]), st.m["nst"])),
            z3.And(st.sym.is_msg("ChangeCipherSpec", S), st.m["ticket"], z3.Not(st.m["nst"])),
        ),
        lambda st: st.sym.is_msg("NewSessionTicket"),
    ),
    Property(
        "certificate-status-after-certificate",
        "RFC 6066 §8",
        "CertificateStatus only immediately after the server's Certificate (HelloRequest, which "
        "is outside the handshake, aside), and only if the ServerHello echoed status_request",
        (
            echoed("status", "status"),
            last_was("cert_last_s", S, "Certificate", skip=("HelloRequest",)),
        ),
        lambda st: z3.And(
            st.sym.is_msg("CertificateStatus"),
            z3.Or(z3.Not(st.m["status"]), z3.Not(st.m["cert_last_s"])),
        ),
        lambda st: st.sym.is_msg("CertificateStatus"),
    ),
    Property(
        "no-certificate-request-from-anonymous",
        "RFC 5246 §7.4.4; RFC 4279 §2",
        "a server without a certificate (anonymous, PSK, SRP, Kerberos) never sends "
        "CertificateRequest",
        (CERT_FORBIDDEN,),
        lambda st: z3.And(
            st.sym.is_msg("CertificateRequest"),
            st.m["cert_forbidden"],
        ),
        lambda st: st.sym.is_msg("CertificateRequest"),
    ),
    Property(
        "renegotiation-info-consistent",
        "RFC 5746 §3.4-3.7 (CVE-2009-3555)",
        "a renegotiating ServerHello carries renegotiation_info iff the first ServerHello did "
        "(the connection is secure)",
        (
            FIN_C_EVER,
            FIN_S_EVER,
            HELLO_SEEN,
            Monitor(
                "first_ri",
                BOOL,
                False,
                lambda sym, m: z3.If(
                    z3.And(sym.is_msg("ServerHello"), z3.Not(m["hello_seen"])),
                    sym.attrs[("ServerHello", "ri")],
                    m["first_ri"],
                ),
            ),
        ),
        lambda st: z3.And(
            st.sym.is_msg("ServerHello"),
            _completed(st),
            st.sym.attrs[("ServerHello", "ri")] != st.m["first_ri"],
        ),
        lambda st: z3.And(st.sym.is_msg("ServerHello"), _completed(st)),
    ),
    Property(
        "nothing-after-close-notify",
        "RFC 5246 §7.2.1",
        "after its close_notify a sender sends nothing more",
        (_CLOSED_C, _CLOSED_S),
        lambda st: z3.Or(
            z3.And(from_(st.sym, C), st.m["closed_c"]), z3.And(from_(st.sym, S), st.m["closed_s"])
        ),
        lambda st: z3.Or(st.m["closed_c"], st.m["closed_s"]),
    ),
    Property(
        "nothing-after-fatal-alert",
        "RFC 5246 §7.2.2",
        "after a fatal alert from either side nothing more is accepted",
        (_FATAL,),
        lambda st: st.m["fatal"],
        lambda st: alert(st.sym, level="fatal"),
    ),
    Property(
        "no-renegotiation-is-warning",
        "RFC 5246 §7.2.2",
        "no_renegotiation is always a warning and only declines a renegotiation (after a "
        "completed handshake)",
        (FIN_C_EVER, FIN_S_EVER),
        lambda st: z3.And(
            alert(st.sym, kind="no_renegotiation"),
            z3.Or(st.sym.attr_is("Alert", "level", "fatal"), z3.Not(_completed(st))),
        ),
        lambda st: alert(st.sym, kind="no_renegotiation"),
    ),
    Property(
        "hello-order",
        "RFC 5246 §7.4.1.2, §7.4.1.3",
        "the first handshake message (HelloRequest aside) is the client's ClientHello, and "
        "ServerHello only answers the ClientHello just sent",
        (
            last_was("ch_last", None, "ClientHello", skip=("HelloRequest",)),
            flag("started", lambda s: z3.And(handshake_layer(s), z3.Not(s.is_msg("HelloRequest")))),
        ),
        lambda st: z3.Or(
            z3.And(
                handshake_layer(st.sym),
                z3.Not(st.m["started"]),
                z3.Not(_is_any(st.sym, "HelloRequest", "ClientHello")),
            ),
            z3.And(st.sym.is_msg("ServerHello"), z3.Not(st.m["ch_last"])),
        ),
        lambda st: st.sym.is_msg("ServerHello"),
    ),
    Property(
        "server-hello-done-ends-flight",
        "RFC 5246 §7.4.5, §7.3",
        "after ServerHelloDone the server sends no handshake-layer message (HelloRequest "
        "aside) until the client's Finished",
        (seen("shd", "ServerHelloDone"), seen("fin_c", "Finished", C)),
        lambda st: z3.And(
            from_(st.sym, S),
            handshake_layer(st.sym),
            z3.Not(st.sym.is_msg("HelloRequest")),
            st.m["shd"],
            z3.Not(st.m["fin_c"]),
        ),
        lambda st: z3.And(st.sym.is_msg("ChangeCipherSpec", S), st.m["shd"]),
    ),
    Property(
        "finished-order",
        "RFC 5246 §7.3 (Figures 1 and 2)",
        "full handshake: the server's ChangeCipherSpec follows the client's Finished; "
        "abbreviated: the client's ChangeCipherSpec follows the server's Finished",
        (RESUMED, seen("fin_c", "Finished", C), seen("fin_s", "Finished", S)),
        lambda st: z3.Or(
            z3.And(
                st.sym.is_msg("ChangeCipherSpec", S), z3.Not(st.m["resumed"]), z3.Not(st.m["fin_c"])
            ),
            z3.And(st.sym.is_msg("ChangeCipherSpec", C), st.m["resumed"], z3.Not(st.m["fin_s"])),
        ),
        lambda st: z3.And(st.sym.is_msg("ChangeCipherSpec", C), st.m["resumed"]),
    ),
    Property(
        "fatal-alert-always-accepted",
        "RFC 5246 §7.2, §7.2.2",
        "until a fatal alert, a side that has not sent close_notify can always report an error "
        "with a fatal alert",
        (_FATAL, _CLOSED_C, _CLOSED_S),
        lambda st: z3.Or(_fatal_possible(st, C, "closed_c"), _fatal_possible(st, S, "closed_s")),
        lambda st: st.sym.is_msg("ServerHello"),
    ),
)


BY_NAME: Final[dict[str, Property]] = {p.name: p for p in PROPERTIES}
