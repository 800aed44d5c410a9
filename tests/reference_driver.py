"""Test helper: drive a reference Engine as a TLS 1.2 client over a real socket.

Shared by the engine and known-answer tests (imported as ``reference_driver``; pytest puts
``tests/`` on ``sys.path``). It performs the RFC 5246 §7.3 full handshake with no policy
checks beyond what the assertions need, so tests can look at the engine's state afterwards.
"""

from __future__ import annotations

import os
import socket

from cryptography import x509
from tlsmodel.reference.codec import TLS1_2, ClientHello, NamedGroup, ServerHello, ServerHelloDone
from tlsmodel.reference.engine import (
    ChangeCipherSpecReceived,
    Engine,
    EngineEvent,
    HandshakeReceived,
    Role,
)
from tlsmodel.reference.extensions import (
    ECPointFormats,
    EncryptThenMac,
    ExtendedMasterSecret,
    RenegotiationInfo,
    SignatureAlgorithms,
    SupportedGroups,
)
from tlsmodel.reference.keyexchange import key_exchange_for
from tlsmodel.reference.signatures import OFFERED_SCHEMES
from tlsmodel.reference.suites import CipherSuite


def client_hello(suites: tuple[int, ...], *, ems: bool = True, etm: bool = True) -> ClientHello:
    exts = [
        SupportedGroups((NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.ffdhe2048)),
        ECPointFormats(),
        SignatureAlgorithms(OFFERED_SCHEMES),
        RenegotiationInfo(),
    ]
    if ems:
        exts.append(ExtendedMasterSecret())
    if etm:
        exts.append(EncryptThenMac())
    return ClientHello(TLS1_2, os.urandom(32), b"", suites, (0,), tuple(exts))


def pull(sock: socket.socket, engine: Engine, count: int) -> list[EngineEvent]:
    """Read from the socket until ``count`` events arrived (accepting each CCS)."""
    events: list[EngineEvent] = []
    while len(events) < count:
        event = engine.next_event()
        if event is None:
            data = sock.recv(65536)
            if not data:
                raise AssertionError(f"peer closed after {events}")
            engine.receive_data(data)
            continue
        events.append(event)
        if isinstance(event, ChangeCipherSpecReceived):
            engine.activate_read_keys()
    return events


def handshake(
    sock: socket.socket, suite: CipherSuite, *, ems: bool = True, etm: bool = True
) -> Engine:
    """A full handshake offering one suite; returns the engine after the server's Finished
    verified. Raises AssertionError (or TLSAlert) if anything does not fit."""
    client = Engine(Role.CLIENT)
    client.send_handshake(client_hello((suite.code,), ems=ems, etm=etm))
    sock.sendall(client.data_to_send())
    expected = 4 if suite.kx.ephemeral else 3
    flight = [e.message for e in pull(sock, client, expected) if isinstance(e, HandshakeReceived)]
    hello, certificate = flight[0], flight[1]
    assert isinstance(hello, ServerHello) and hello.cipher_suite == suite.code, hello
    assert isinstance(flight[-1], ServerHelloDone)
    leaf = x509.load_der_x509_certificate(certificate.certificate_list[0])  # type: ignore[union-attr]
    public_key = leaf.public_key()
    kx = key_exchange_for(suite, server_public_key=public_key)  # type: ignore[arg-type]
    if suite.kx.ephemeral:
        ske = flight[2]
        client.verify_server_key_exchange(ske, public_key, OFFERED_SCHEMES)  # type: ignore[arg-type]
        kx.process_server_params(ske.params)  # type: ignore[union-attr]
    cke, pre_master = kx.client_key_exchange()
    client.send_handshake(cke)
    client.set_premaster_secret(pre_master)
    client.send_change_cipher_spec()
    client.send_handshake(client.finished())
    sock.sendall(client.data_to_send())
    ccs, fin = pull(sock, client, 2)
    assert isinstance(ccs, ChangeCipherSpecReceived), ccs
    assert isinstance(fin, HandshakeReceived), fin
    assert client.verify_finished(fin.message), "server Finished does not verify"  # type: ignore[arg-type]
    return client
