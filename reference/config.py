"""What an endpoint is configured with: suites, groups, credentials, trust, resumption, faults.

Why frozen dataclasses: one config is shared by many connections (a server serves each
accepted socket with the same one), so it must not change under them. The session cache and
ticket keys inside a ``ServerConfig`` are the deliberate exception: they are the state that
connections share. ``clock`` is injected (seconds, like ``time.time``) so the sans-IO
connection never reads a clock of its own and tests can move time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from tlsmodel.reference.certs import TrustAnchors
from tlsmodel.reference.codec import NamedGroup
from tlsmodel.reference.faults import Fault
from tlsmodel.reference.session import SessionCache, TicketKeys
from tlsmodel.reference.signatures import OFFERED_SCHEMES
from tlsmodel.reference.suites import SUITES, CipherSuite

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

DEFAULT_GROUPS: tuple[int, ...] = (
    NamedGroup.x25519,
    NamedGroup.secp256r1,
    NamedGroup.secp384r1,
    NamedGroup.ffdhe2048,
    NamedGroup.ffdhe3072,
)


@dataclass(frozen=True, slots=True)
class Credential:
    """A certificate chain (leaf first) and the leaf's private key."""

    chain: tuple[x509.Certificate, ...]
    key: PrivateKey

    @property
    def chain_der(self) -> tuple[bytes, ...]:
        """The chain as the Certificate message carries it."""
        return tuple(c.public_bytes(Encoding.DER) for c in self.chain)

    @property
    def family(self) -> str:
        """``"rsa"`` or ``"ecdsa"``: which suites (and client certificate types) it serves."""
        return "rsa" if isinstance(self.key, rsa.RSAPrivateKey) else "ecdsa"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientConfig:
    """A client. ``anchors=None`` skips chain verification (benchmarks only; the CLI never)."""

    server_name: str | None = None
    anchors: TrustAnchors | None = None
    credential: Credential | None = None
    suites: tuple[CipherSuite, ...] = SUITES
    groups: tuple[int, ...] = DEFAULT_GROUPS
    signature_schemes: tuple[int, ...] = OFFERED_SCHEMES
    session_tickets: bool = True
    extended_master_secret: bool = True
    encrypt_then_mac: bool = True
    request_ocsp: bool = True
    renegotiation: bool = True
    faults: frozenset[Fault] = frozenset()
    clock: Callable[[], float] = time.time


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    """A server. ``client_anchors`` set = request a client certificate (and verify it)."""

    credentials: tuple[Credential, ...]
    suites: tuple[CipherSuite, ...] = SUITES
    groups: tuple[int, ...] = DEFAULT_GROUPS
    signature_schemes: tuple[int, ...] = OFFERED_SCHEMES
    client_anchors: TrustAnchors | None = None
    require_client_certificate: bool = False
    session_cache: SessionCache | None = field(default_factory=SessionCache)
    ticket_keys: TicketKeys | None = field(default_factory=TicketKeys)
    ocsp_response: bytes | None = None
    extended_master_secret: bool = True
    encrypt_then_mac: bool = True
    renegotiation: bool = True
    faults: frozenset[Fault] = frozenset()
    clock: Callable[[], float] = time.time
