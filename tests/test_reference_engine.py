"""Engine-level handshakes: two Engines in memory for every suite, deviant paths, OpenSSL.

These drive the engine directly, in the order a TLS 1.2 full handshake uses (RFC 5246 §7.3,
Figure 1), to show that the codec, key exchange, key schedule and record protection agree with
each other and — in the network test — with OpenSSL. They are not the conformance suite (that is
the connection's), only proof that the engine's pieces fit.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import reference_driver
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from support import peers, pki
from tlsmodel.reference.alerts import AlertDescription, AlertLevel, TLSAlert
from tlsmodel.reference.codec import (
    TLS1_2,
    Certificate,
    ClientHello,
    Finished,
    HelloRequest,
    NamedGroup,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
)
from tlsmodel.reference.engine import (
    ApplicationDataReceived,
    ChangeCipherSpecReceived,
    Engine,
    EngineError,
    EngineEvent,
    HandshakeReceived,
    Role,
)
from tlsmodel.reference.extensions import (
    EncryptThenMac,
    ExtendedMasterSecret,
    RenegotiationInfo,
)
from tlsmodel.reference.keyexchange import key_exchange_for
from tlsmodel.reference.signatures import OFFERED_SCHEMES, choose_scheme
from tlsmodel.reference.suites import SUITES, CipherSuite, KeyExchangeKind, suite_by_name


@dataclass
class Identity:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    chain: tuple[bytes, ...]


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPKI:
    return pki.make_pki(tmp_path_factory.mktemp("pki"))


def _identity(pair: pki.KeyPair) -> Identity:
    key = serialization.load_pem_private_key(pair.key.read_bytes(), None)
    cert = x509.load_pem_x509_certificate(pair.cert.read_bytes())
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    return Identity(key, (cert.public_bytes(serialization.Encoding.DER),))


def _transfer(src: Engine, dst: Engine) -> list[EngineEvent]:
    """Move src's output to dst; pull every event, accepting a CCS by switching read keys."""
    dst.receive_data(src.data_to_send())
    events: list[EngineEvent] = []
    while (event := dst.next_event()) is not None:
        events.append(event)
        if isinstance(event, ChangeCipherSpecReceived):
            dst.activate_read_keys()
    return events


def _server_flight(server: Engine, hello: ClientHello, suite: CipherSuite, me: Identity) -> None:
    exts = [ExtendedMasterSecret(), RenegotiationInfo()]
    if not suite.is_aead:
        exts.append(EncryptThenMac())
    server.send_handshake(
        ServerHello(TLS1_2, os.urandom(32), os.urandom(32), suite.code, 0, tuple(exts))
    )
    server.send_handshake(Certificate(me.chain))
    group = NamedGroup.ffdhe2048 if suite.kx is KeyExchangeKind.DHE_RSA else NamedGroup.x25519
    kx = key_exchange_for(suite, group=group, private_key=me.key, client_version=hello.version)  # type: ignore[arg-type]
    if suite.kx.ephemeral:
        scheme = choose_scheme(me.key, OFFERED_SCHEMES)
        server.send_handshake(server.server_key_exchange(kx, me.key, scheme))
    server.send_handshake(ServerHelloDone())
    server._test_kx = kx  # type: ignore[attr-defined]


def _run(suite: CipherSuite, me: Identity) -> tuple[Engine, Engine]:
    client, server = Engine(Role.CLIENT), Engine(Role.SERVER)
    hello = reference_driver.client_hello((suite.code,))
    client.send_handshake(hello)
    _transfer(client, server)
    _server_flight(server, hello, suite, me)
    flight = [e.message for e in _transfer(server, client) if isinstance(e, HandshakeReceived)]
    cert = x509.load_der_x509_certificate(flight[1].certificate_list[0])  # type: ignore[union-attr]
    public_key = cert.public_key()
    kx = key_exchange_for(suite, server_public_key=public_key, client_version=TLS1_2)  # type: ignore[arg-type]
    if suite.kx.ephemeral:
        ske = flight[2]
        assert isinstance(ske, ServerKeyExchange)
        client.verify_server_key_exchange(ske, public_key, OFFERED_SCHEMES)  # type: ignore[arg-type]
        kx.process_server_params(ske.params)
    cke, pre_master = kx.client_key_exchange()
    client.send_handshake(cke)
    client.set_premaster_secret(pre_master)
    client.send_change_cipher_spec()
    client.send_handshake(client.finished())
    server.receive_data(client.data_to_send())
    event = server.next_event()
    assert isinstance(event, HandshakeReceived)
    server.set_premaster_secret(server._test_kx.process_client_key_exchange(event.message))  # type: ignore[attr-defined]
    assert isinstance(server.next_event(), ChangeCipherSpecReceived)
    server.activate_read_keys()
    event = server.next_event()
    assert isinstance(event, HandshakeReceived) and isinstance(event.message, Finished)
    assert server.verify_finished(event.message)
    assert server.master_secret == client.master_secret
    server.send_change_cipher_spec()
    server.send_handshake(server.finished())
    events = _transfer(server, client)
    assert isinstance(events[-1], HandshakeReceived)
    assert isinstance(events[-1].message, Finished)
    assert client.verify_finished(events[-1].message)
    # Data both ways, including a payload that needs two records.
    payload = os.urandom(40000)
    client.send_application_data(payload)
    got = b"".join(
        e.data for e in _transfer(client, server) if isinstance(e, ApplicationDataReceived)
    )
    assert got == payload
    server.send_application_data(b"pong")
    assert _transfer(server, client) == [ApplicationDataReceived(data=b"pong")]
    assert client.encrypt_then_mac == (not suite.is_aead)
    assert client.extended_master_secret and server.extended_master_secret
    return client, server


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.iana)
def test_engine_full_handshake_every_suite(suite: CipherSuite, test_pki: pki.TestPKI) -> None:
    pair = test_pki.server_ecdsa if suite.kx is KeyExchangeKind.ECDHE_ECDSA else test_pki.server_rsa
    _run(suite, _identity(pair))


@pytest.mark.network
@pytest.mark.parametrize(
    "name",
    [
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "DHE-RSA-AES256-GCM-SHA384",
        "AES128-SHA",
        "ECDHE-RSA-AES256-SHA384",
    ],
)
def test_engine_client_against_openssl(name: str, test_pki: pki.TestPKI, tmp_path: Path) -> None:
    """Full handshake and data against ``openssl s_server -tls1_2 -rev`` (an echo that reverses
    each line), with EMS and, for CBC, encrypt_then_mac offered and accepted by OpenSSL."""
    suite = suite_by_name(name)
    cert = "ecdsa" if suite.kx is KeyExchangeKind.ECDHE_ECDSA else "rsa"
    options = {"cert": cert, "cipher": name, "no_ticket": True, "extra": ("-rev",)}
    with peers.openssl_server(test_pki, tmp_path, dhparams=True, **options) as srv:  # type: ignore[arg-type]
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            client = reference_driver.handshake(sock, suite)
            assert client.extended_master_secret
            assert client.encrypt_then_mac == (not suite.is_aead)
            client.send_application_data(b"hello openssl\n")
            sock.sendall(client.data_to_send())
            [reply] = reference_driver.pull(sock, client, 1)
            assert reply == ApplicationDataReceived(data=b"lssnepo olleh\n")
            client.send_alert(AlertDescription.close_notify, AlertLevel.warning)
            sock.sendall(client.data_to_send())
        srv.wait(5)


def test_engine_fails_closed_on_bad_record(test_pki: pki.TestPKI) -> None:
    """A tampered protected record is bad_record_mac, and the read side then stays failed."""
    client, server = _run(
        suite_by_name("ECDHE-RSA-AES128-GCM-SHA256"), _identity(test_pki.server_rsa)
    )
    client.send_application_data(b"secret")
    record = bytearray(client.data_to_send())
    record[-1] ^= 1
    server.receive_data(bytes(record))
    with pytest.raises(TLSAlert) as first:
        server.next_event()
    assert first.value.description is AlertDescription.bad_record_mac
    with pytest.raises(TLSAlert):
        server.next_event()
    server.send_alert(AlertDescription.bad_record_mac)
    assert server.data_to_send()[:1] == b"\x15"


def test_engine_follows_a_deviant_path_ccs_before_key_exchange(test_pki: pki.TestPKI) -> None:
    """CVE-2014-0224's path: CCS right after the server's flight, keys from an empty
    pre-master. Both engines derive the same keys, so protected data flows — the engine does
    not judge the order, it computes the cryptography of the path taken."""
    suite = suite_by_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    me = _identity(test_pki.server_rsa)
    client, server = Engine(Role.CLIENT), Engine(Role.SERVER)
    hello = reference_driver.client_hello((suite.code,))
    client.send_handshake(hello)
    _transfer(client, server)
    _server_flight(server, hello, suite, me)
    _transfer(server, client)
    client.set_premaster_secret(b"")
    client.send_change_cipher_spec()
    client.send_application_data(b"injected")
    server.receive_data(client.data_to_send())
    assert isinstance(server.next_event(), ChangeCipherSpecReceived)
    server.set_premaster_secret(b"")
    server.activate_read_keys()
    assert server.next_event() == ApplicationDataReceived(data=b"injected")


def test_engine_finished_after_a_skipped_message(test_pki: pki.TestPKI) -> None:
    """A server that omits ServerHelloDone: the Finished each side computes covers the
    messages that actually passed, so they still agree (what a deviant peer needs)."""
    suite = suite_by_name("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")
    me = _identity(test_pki.server_ecdsa)
    client, server = Engine(Role.CLIENT), Engine(Role.SERVER)
    client.send_handshake(reference_driver.client_hello((suite.code,)))
    _transfer(client, server)
    server.send_handshake(ServerHello(TLS1_2, os.urandom(32), b"", suite.code, 0, ()))
    server.send_handshake(Certificate(me.chain))
    kx = key_exchange_for(suite, group=NamedGroup.secp256r1)
    server.send_handshake(server.server_key_exchange(kx, me.key, 0x0403))
    flight = [e.message for e in _transfer(server, client)]  # type: ignore[union-attr]
    assert len(flight) == 3 and not client.extended_master_secret
    peer_kx = key_exchange_for(suite)
    peer_kx.process_server_params(flight[2].params)  # type: ignore[union-attr]
    cke, pre_master = peer_kx.client_key_exchange()
    client.send_handshake(cke)
    client.set_premaster_secret(pre_master)
    client.send_change_cipher_spec()
    client.send_handshake(client.finished())
    server.receive_data(client.data_to_send())
    event = server.next_event()
    server.set_premaster_secret(kx.process_client_key_exchange(event.message))  # type: ignore[union-attr]
    assert isinstance(server.next_event(), ChangeCipherSpecReceived)
    server.activate_read_keys()
    fin = server.next_event()
    assert isinstance(fin, HandshakeReceived) and isinstance(fin.message, Finished)
    assert server.verify_finished(fin.message)
    assert not server.verify_finished(Finished(bytes(12)))


def test_engine_renegotiation_path_state(test_pki: pki.TestPKI) -> None:
    """A second handshake under the first one's keys: HelloRequest is not hashed (RFC 5246
    §7.4.1.1), a ClientHello starts a new transcript and key schedule, the old verify_data stay
    available for RFC 5746, and the current protections stay in force until a new CCS."""
    client, server = _run(
        suite_by_name("ECDHE-RSA-AES128-GCM-SHA256"), _identity(test_pki.server_rsa)
    )
    old_client_vd, old_server_vd = client.client_verify_data, client.server_verify_data
    assert len(old_client_vd) == len(old_server_vd) == 12
    assert old_client_vd == server.client_verify_data and old_server_vd == server.server_verify_data
    server.send_handshake(HelloRequest())
    [event] = _transfer(server, client)
    assert isinstance(event, HandshakeReceived) and event.message == HelloRequest()
    hello = reference_driver.client_hello((0xC02F,))
    raw = client.send_handshake(hello)
    [event] = _transfer(client, server)  # travels under the first handshake's keys
    assert isinstance(event, HandshakeReceived) and event.message == hello
    for engine in (client, server):
        assert engine.transcript.data == raw
        assert engine.suite is None and engine.master_secret is None
        assert not engine.extended_master_secret
    assert client.client_verify_data == old_client_vd
    assert server.server_verify_data == old_server_vd
    client.send_application_data(b"still protected")
    assert _transfer(client, server) == [ApplicationDataReceived(data=b"still protected")]


# The engine client as a separate program, so that it can run inside the private network
# namespace that gnutls-serv needs (PEERS.md); it prints one verdict line.
_GNUTLS_CLIENT = r"""
import socket, sys
import reference_driver
from tlsmodel.reference.alerts import AlertDescription, AlertLevel
from tlsmodel.reference.engine import ApplicationDataReceived
from tlsmodel.reference.suites import suite_by_name

suite = suite_by_name(sys.argv[1])
with socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10) as sock:
    engine = reference_driver.handshake(sock, suite)
    engine.send_application_data(b"hello gnutls\n")
    sock.sendall(engine.data_to_send())
    [reply] = reference_driver.pull(sock, engine, 1)
    assert reply == ApplicationDataReceived(data=b"hello gnutls\n"), reply
    engine.send_alert(AlertDescription.close_notify, AlertLevel.warning)
    sock.sendall(engine.data_to_send())
print(f"OK ems={engine.extended_master_secret} etm={engine.encrypt_then_mac}")
"""


@pytest.mark.network
@pytest.mark.parametrize(
    ("name", "kx", "cipher", "mac", "cert"),
    [
        ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA", "AES-128-GCM", "AEAD", "rsa"),
        ("ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA", "CHACHA20-POLY1305", "AEAD", "ecdsa"),
        ("DHE-RSA-AES128-SHA256", "DHE-RSA", "AES-128-CBC", "SHA256", "rsa"),
        ("AES256-GCM-SHA384", "RSA", "AES-256-GCM", "AEAD", "rsa"),
    ],
)
def test_engine_client_against_gnutls(
    name: str, kx: str, cipher: str, mac: str, cert: str, test_pki: pki.TestPKI, tmp_path: Path
) -> None:
    """Full handshake, echo and close_notify against ``gnutls-serv`` (EMS on; EtM for CBC)."""
    suite = suite_by_name(name)
    server = peers.gnutls_server_argv(
        test_pki, priority=peers.gnutls_priority(kx, cipher, mac), cert=cert, no_ticket=True
    )  # type: ignore[arg-type]
    tests_dir = str(Path(__file__).parent)
    client = ["env", f"PYTHONPATH={tests_dir}", sys.executable, "-c", _GNUTLS_CLIENT]
    run = peers.gnutls_session(tmp_path, server, [*client, name, str(peers.GNUTLS_PORT)])
    assert run.client_rc == 0, run.log + run.client_out + run.server_out
    assert run.client_out.strip() == f"OK ems=True etm={not suite.is_aead}", run.client_out


def test_engine_refuses_keys_it_cannot_derive() -> None:
    """Caller misuse is EngineError, and a refused CCS is not half sent."""
    engine = Engine(Role.CLIENT)
    with pytest.raises(EngineError):
        engine.send_change_cipher_spec()
    assert engine.data_to_send() == b""
    with pytest.raises(EngineError):
        engine.activate_read_keys()
    engine.send_change_cipher_spec(activate=False)
    assert engine.data_to_send() == b"\x14\x03\x03\x00\x01\x01"
    assert engine.keylog_line() is None and not engine.verify_finished(Finished(bytes(12)))
