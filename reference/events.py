"""What a ``Connection`` tells its user: events out of ``next_event()``, and the message log.

Why events instead of callbacks: the connection is sans-IO; the caller decides when to read,
write and react, and tests can assert on a plain list. ``LoggedMessage`` is the record of every
handshake-layer message sent or received, in the order the connection processed them, with the
attributes of the model's trace format (issue 2: ``cipher_suite``, ``resumed``, ``extensions``,
``empty``, ``fixed_dh``, ``level``, ``description``), so a trace can be checked by the oracle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tlsmodel.reference.session import Session


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggedMessage:
    """One message on the wire, as the trace format names it."""

    sender: str  # "client" | "server"
    type: str  # "ClientHello", ..., "ChangeCipherSpec", "Alert", "ApplicationData"
    attributes: tuple[tuple[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The trace-format dict: ``{"from", "type", ...attributes}``."""
        out: dict[str, Any] = {"from": self.sender, "type": self.type}
        for key, value in self.attributes:
            out[key] = list(value) if isinstance(value, tuple) else value
        return out

    def describe(self) -> str:
        """One human line, like ``openssl s_client -msg``: direction, type, attributes."""
        parts = [self.type]
        for key, value in self.attributes:
            shown = ",".join(value) if isinstance(value, tuple) else value
            parts.append(f"{key}={shown}")
        return " ".join(str(p) for p in parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class HandshakeComplete:
    """Both Finished verified: keys are live, the peer is authenticated as configured."""

    cipher_suite: str
    resumed: bool
    renegotiation: bool
    session: Session
    peer_certificates: tuple[bytes, ...] = field(repr=False)
    extended_master_secret: bool
    secure_renegotiation: bool
    ocsp_response: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationData:
    """Decrypted application bytes from the peer."""

    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class NewTicket:
    """The server issued a session ticket; ``session`` carries it for a later resumption."""

    session: Session


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertReceived:
    """A warning alert other than close_notify (e.g. no_renegotiation); the connection lives."""

    description: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RenegotiationDeclined:
    """We asked to renegotiate and the peer declined (warning no_renegotiation or ignored)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerClosed:
    """The peer is done: ``clean`` after its close_notify (we answered with ours), False when
    the transport ended without one (a truncation the application must judge)."""

    clean: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Failed:
    """The connection is dead: a fatal alert was sent (``by_peer`` False) or received."""

    description: str
    reason: str
    by_peer: bool


Event = (
    HandshakeComplete
    | ApplicationData
    | NewTicket
    | AlertReceived
    | RenegotiationDeclined
    | PeerClosed
    | Failed
)
