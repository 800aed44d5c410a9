"""The per-position conditions of the declarative rules (named and quoted in ``rules``).

Why a module of its own: ``rules`` is the table a reader checks against the RFC (name, section,
quoted sentence); this file is how each sentence reads as a z3 condition on position i of a
trace, in the vocabulary of ``positions`` ("the last flow message before i", "the ServerHello of
the current handshake"). Each function is ``(positions, i) -> condition``; it reads only
positions up to i, so every rule is prefix-closed.
"""

from __future__ import annotations

import z3
from tlsmodel.model.alphabet import CLIENT, MESSAGE_TYPES, SENDERS, SENT_BY, SERVER
from tlsmodel.proofs.positions import Positions

# -- the hello phase ---------------------------------------------------------------------------


def senders(p: Positions, i: int) -> z3.BoolRef:
    """Each message comes from a party that may send it (``alphabet.SENT_BY``)."""
    return z3.Or(
        [z3.And(p.is_(i, m), z3.Or([p.by(i, s) for s in SENT_BY[m]])) for m in MESSAGE_TYPES]
    )


def client_starts_with_client_hello(p: Positions, i: int) -> z3.BoolRef:
    """Before its first ClientHello the client sends only that ClientHello (or an alert)."""
    early = z3.And(p.by(i, CLIENT), z3.Not(p.seen(i, "ClientHello")))
    return z3.Implies(early, z3.Or(p.is_(i, "ClientHello"), p.is_(i, "Alert")))


def server_waits_for_client_hello(p: Positions, i: int) -> z3.BoolRef:
    """Before the first ClientHello the server sends only HelloRequest (a SHOULD NOT, not a MUST
    NOT) or alerts.
    """
    early = z3.And(p.by(i, SERVER), z3.Not(p.seen(i, "ClientHello")))
    return z3.Implies(early, z3.Or(p.is_(i, "HelloRequest"), p.is_(i, "Alert")))


def client_hello_renegotiates(p: Positions, i: int) -> z3.BoolRef:
    """A later ClientHello needs an established connection: a completed handshake, none in
    progress.
    """
    again = z3.And(p.is_(i, "ClientHello"), p.seen(i, "ClientHello"))
    return z3.Implies(again, p.established(i))


def server_hello(p: Positions, i: int) -> z3.BoolRef:
    """A ServerHello answers the ClientHello right before it in the flow, unless the server already
    refused it.
    """
    return z3.Implies(
        p.is_(i, "ServerHello"),
        z3.And(p.prev_flow_is(i, ("ClientHello", None)), z3.Not(p.settled(i))),
    )


def renegotiation_info(p: Positions, i: int) -> z3.BoolRef:
    """A renegotiating ServerHello echoes renegotiation_info iff the first ServerHello did (secure
    connection).
    """
    ri = p.symbols[i].attrs[("ServerHello", "ri")]
    again = z3.And(p.is_(i, "ServerHello"), p.seen(i, "ServerHello"))
    return z3.Implies(again, ri == p.first_ri(i))


# -- the server's first flight -------------------------------------------------------------------


def server_certificate(p: Positions, i: int) -> z3.BoolRef:
    """The server's Certificate comes right after a full-handshake ServerHello whose family uses
    one.
    """
    return z3.Implies(
        p.is_(i, "Certificate", SERVER),
        z3.And(
            p.prev_flow_of_is(SERVER, i, "ServerHello"),
            p.full(i),
            p.current_family(i, "server_cert", "required"),
        ),
    )


def server_certificate_required(p: Positions, i: int) -> z3.BoolRef:
    """When the family uses a server certificate, the server's next flow message after ServerHello
    is it.
    """
    premise = z3.And(
        p.flow(i),
        p.by(i, SERVER),
        p.prev_flow_of_is(SERVER, i, "ServerHello"),
        p.full(i),
        p.current_family(i, "server_cert", "required"),
    )
    return z3.Implies(premise, p.is_(i, "Certificate", SERVER))


def server_certificate_not_empty(p: Positions, i: int) -> z3.BoolRef:
    """A server certificate_list holds at least the server's own certificate."""
    return z3.Implies(p.is_(i, "Certificate", SERVER), p.attr(i, "Certificate", "empty", False))


def certificate_status(p: Positions, i: int) -> z3.BoolRef:
    """CertificateStatus right after the server Certificate, only if status_request was echoed."""
    return z3.Implies(
        p.is_(i, "CertificateStatus"),
        z3.And(p.prev_flow_of_is(SERVER, i, "Certificate"), p.current_sh(i, "status", True)),
    )


def server_key_exchange(p: Positions, i: int) -> z3.BoolRef:
    """ServerKeyExchange after ServerHello / Certificate / CertificateStatus, never where the
    family forbids it.
    """
    return z3.Implies(
        p.is_(i, "ServerKeyExchange"),
        z3.And(
            p.prev_flow_of_is(SERVER, i, "ServerHello", "Certificate", "CertificateStatus"),
            p.full(i),
            p.current_family(i, "ske", "required", "optional"),
        ),
    )


def server_key_exchange_required(p: Positions, i: int) -> z3.BoolRef:
    """Where the family requires ServerKeyExchange, the offer (CertificateRequest, ServerHelloDone)
    waits for it.
    """
    ends_offer = z3.Or(p.is_(i, "CertificateRequest"), p.is_(i, "ServerHelloDone"))
    return z3.Implies(
        z3.And(ends_offer, p.current_family(i, "ske", "required")),
        p.in_current(i, "ServerKeyExchange"),
    )


def certificate_request(p: Positions, i: int) -> z3.BoolRef:
    """CertificateRequest before ServerHelloDone, in full handshakes of families that may ask for
    one.
    """
    return z3.Implies(
        p.is_(i, "CertificateRequest"),
        z3.And(
            p.prev_flow_of_is(
                SERVER, i, "ServerHello", "Certificate", "CertificateStatus", "ServerKeyExchange"
            ),
            p.full(i),
            p.current_family(i, "cert_request", True),
        ),
    )


def server_hello_done(p: Positions, i: int) -> z3.BoolRef:
    """ServerHelloDone closes the server's first flight of a full handshake."""
    return z3.Implies(
        p.is_(i, "ServerHelloDone"),
        z3.And(
            p.prev_flow_of_is(
                SERVER,
                i,
                "ServerHello",
                "Certificate",
                "CertificateStatus",
                "ServerKeyExchange",
                "CertificateRequest",
            ),
            p.full(i),
        ),
    )


# -- the client's flight -------------------------------------------------------------------------


def after_done_requested(p: Positions, i: int) -> z3.BoolRef:
    """The last flow message was ServerHelloDone and the current handshake has a
    CertificateRequest.
    """
    return z3.And(
        p.prev_flow_is(i, ("ServerHelloDone", SERVER)), p.in_current(i, "CertificateRequest")
    )


def client_certificate(p: Positions, i: int) -> z3.BoolRef:
    """The client's Certificate only right after ServerHelloDone, and only if it was requested."""
    return z3.Implies(p.is_(i, "Certificate", CLIENT), after_done_requested(p, i))


def client_certificate_required(p: Positions, i: int) -> z3.BoolRef:
    """A requested client certificate is the client's first flow message after ServerHelloDone."""
    premise = z3.And(p.flow(i), p.by(i, CLIENT), after_done_requested(p, i))
    return z3.Implies(premise, p.is_(i, "Certificate", CLIENT))


def fixed_dh_certificate(p: Positions, i: int) -> z3.BoolRef:
    """A fixed-(EC)DH client certificate is non-empty and only for static (EC)DH families."""
    premise = z3.And(p.is_(i, "Certificate", CLIENT), p.attr(i, "Certificate", "fixed_dh", True))
    return z3.Implies(
        premise,
        z3.And(p.attr(i, "Certificate", "empty", False), p.current_family(i, "fixed_dh", True)),
    )


def client_key_exchange(p: Positions, i: int) -> z3.BoolRef:
    """ClientKeyExchange right after ServerHelloDone or the client's Certificate."""
    return z3.Implies(
        p.is_(i, "ClientKeyExchange"),
        p.prev_flow_is(i, ("ServerHelloDone", SERVER), ("Certificate", CLIENT)),
    )


def certificate_verify(p: Positions, i: int) -> z3.BoolRef:
    """CertificateVerify right after ClientKeyExchange, only for a signing-capable client
    certificate.
    """
    return z3.Implies(
        p.is_(i, "CertificateVerify"),
        z3.And(p.prev_flow_is(i, ("ClientKeyExchange", CLIENT)), p.signing_in_current(i)),
    )


def certificate_verify_required(p: Positions, i: int) -> z3.BoolRef:
    """After a signing-capable client certificate, CertificateVerify follows ClientKeyExchange."""
    premise = z3.And(
        p.flow(i),
        p.by(i, CLIENT),
        p.prev_flow_is(i, ("ClientKeyExchange", CLIENT)),
        p.signing_in_current(i),
    )
    return z3.Implies(premise, p.is_(i, "CertificateVerify"))


# -- ChangeCipherSpec, Finished, NewSessionTicket --------------------------------------------------


def client_ccs(p: Positions, i: int) -> z3.BoolRef:
    """The client's CCS after its key exchange (full) or the server's Finished (abbreviated)."""
    return z3.Implies(
        p.is_(i, "ChangeCipherSpec", CLIENT),
        z3.Or(
            z3.And(
                p.full(i),
                p.prev_flow_is(i, ("ClientKeyExchange", CLIENT), ("CertificateVerify", CLIENT)),
            ),
            z3.And(p.abbreviated(i), p.prev_flow_is(i, ("Finished", SERVER))),
        ),
    )


def ticket_slot(p: Positions, i: int) -> z3.BoolRef:
    """Where NewSessionTicket (or else the server's CCS) goes: RFC 5077 §3.1 Figures 1-3."""
    return z3.Or(
        z3.And(p.full(i), p.prev_flow_is(i, ("Finished", CLIENT))),
        z3.And(p.abbreviated(i), p.prev_flow_is(i, ("ServerHello", SERVER))),
    )


def server_ccs(p: Positions, i: int) -> z3.BoolRef:
    """The server's CCS after the client's Finished (full) or its ServerHello (abbreviated), or its
    ticket.
    """
    return z3.Implies(
        p.is_(i, "ChangeCipherSpec", SERVER),
        z3.Or(p.prev_flow_is(i, ("NewSessionTicket", SERVER)), ticket_slot(p, i)),
    )


def new_session_ticket(p: Positions, i: int) -> z3.BoolRef:
    """NewSessionTicket in its slot, only if the ServerHello echoed session_ticket."""
    return z3.Implies(
        p.is_(i, "NewSessionTicket"), z3.And(ticket_slot(p, i), p.current_sh(i, "ticket", True))
    )


def new_session_ticket_required(p: Positions, i: int) -> z3.BoolRef:
    """If session_ticket was echoed, the server's CCS waits for NewSessionTicket."""
    premise = z3.And(p.is_(i, "ChangeCipherSpec", SERVER), p.current_sh(i, "ticket", True))
    return z3.Implies(premise, p.in_current(i, "NewSessionTicket"))


def finished_after_ccs(p: Positions, i: int) -> z3.BoolRef:
    """A Finished comes right after its sender's CCS (no message of that sender in between)."""
    return z3.And(
        [
            z3.Implies(p.is_(i, "Finished", s), p.prev_of_is(s, i, "ChangeCipherSpec"))
            for s in SENDERS
        ]
    )


def ccs_then_finished(p: Positions, i: int) -> z3.BoolRef:
    """After a CCS its sender sends Finished next, or stops (fatal alert or close_notify)."""
    return z3.And(
        [
            z3.Implies(
                z3.And(p.by(i, s), p.prev_of_is(s, i, "ChangeCipherSpec")),
                z3.Or(p.is_(i, "Finished", s), p.fatal(i, s), p.alert(i, s, "close_notify")),
            )
            for s in SENDERS
        ]
    )


def application_data(p: Positions, i: int) -> z3.BoolRef:
    """Application data only once a first handshake has completed (no False Start)."""
    return z3.Implies(p.is_(i, "ApplicationData"), p.established_once(i))


# -- alerts and renegotiation refusals -------------------------------------------------------------


def alert_levels(p: Positions, i: int) -> z3.BoolRef:
    """Always-fatal descriptions are fatal; no_renegotiation is a warning."""
    return z3.And(
        z3.Implies(p.alert(i, None, "fatal_only"), p.attr(i, "Alert", "level", "fatal")),
        z3.Implies(p.alert(i, None, "no_renegotiation"), p.attr(i, "Alert", "level", "warning")),
    )


def fatal_ends_connection(p: Positions, i: int) -> z3.BoolRef:
    """Nothing follows a fatal alert, from either side."""
    return z3.Not(p.fatal_before(i))


def close_notify_ends_sender(p: Positions, i: int) -> z3.BoolRef:
    """Nothing from a sender after its own close_notify."""
    return z3.And([z3.Implies(p.by(i, s), z3.Not(p.closed_by(i, s))) for s in SENDERS])


def client_no_renegotiation(p: Positions, i: int) -> z3.BoolRef:
    """The client's no_renegotiation answers an open HelloRequest that came while established."""
    return z3.Implies(p.alert(i, CLIENT, "no_renegotiation"), p.hello_request_open(i))


def server_no_renegotiation(p: Positions, i: int) -> z3.BoolRef:
    """The server's no_renegotiation answers a renegotiating ClientHello not yet answered."""
    return z3.Implies(p.alert(i, SERVER, "no_renegotiation"), p.renegotiation_offered(i))
