"""The client's ClientHello: what it offers, from its config and the session it may resume.

Why a module of its own: what a client offers decides what it may accept (every ServerHello
extension must have been offered, RFC 5246 §7.4.1.4), and the offer has rules of its own —
RFC 5746 renegotiation_info carrying the previous client Finished, RFC 5077 §3.4 a fresh
session ID alongside a ticket so that an echo shows the ticket was accepted.
"""

from __future__ import annotations

import ipaddress
import os

from tlsmodel.reference.codec import TLS1_2, ClientHello
from tlsmodel.reference.config import ClientConfig
from tlsmodel.reference.extensions import (
    ECPointFormats,
    EncryptThenMac,
    ExtendedMasterSecret,
    Extension,
    RenegotiationInfo,
    ServerName,
    SessionTicket,
    SignatureAlgorithms,
    StatusRequest,
    SupportedGroups,
)
from tlsmodel.reference.session import Session


def is_ip(name: str) -> bool:
    """SNI carries host names only (RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not
    permitted")."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def client_hello(config: ClientConfig, offer: Session | None, renegotiating: bytes) -> ClientHello:
    """The ClientHello; ``renegotiating`` is the previous client verify_data (empty if none)."""
    exts: list[Extension] = []
    if config.server_name and not is_ip(config.server_name):
        exts.append(ServerName(config.server_name))
    exts += [SupportedGroups(config.groups), ECPointFormats((0,))]
    exts.append(SignatureAlgorithms(config.signature_schemes))
    if config.request_ocsp:
        exts.append(StatusRequest())
    if config.session_tickets:
        exts.append(SessionTicket(offer.ticket if offer and offer.ticket else b""))
    if config.extended_master_secret:
        exts.append(ExtendedMasterSecret())
    if config.encrypt_then_mac and any(not s.is_aead for s in config.suites):
        exts.append(EncryptThenMac())
    exts.append(RenegotiationInfo(renegotiating))
    session_id = b""
    if offer is not None:
        session_id = os.urandom(32) if offer.ticket else offer.session_id
    return ClientHello(
        version=TLS1_2,
        random=os.urandom(32),
        session_id=session_id,
        cipher_suites=tuple(s.code for s in config.suites),
        compression_methods=(0,),
        extensions=tuple(exts),
    )
