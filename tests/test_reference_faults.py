"""Every fault of ``reference/faults.py``, observed: the same deviant peer is refused with the
right alert when the fault is off, and exploits the bug when it is on.

The deviant peers are scripted engines (``support.refscripted``): they speak correct
cryptography for the path they take, so "on" means the reference really completes the
broken handshake — the attack works — not merely that it skips an alert.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from support import pki as pki_mod
from support.refpeers import anchors, credential, drain, first
from support.refscripted import ScriptedClient, ScriptedServer
from tlsmodel.model.trace import Trace
from tlsmodel.oracle.judge import judge
from tlsmodel.reference import events as ev
from tlsmodel.reference.client import ClientConnection
from tlsmodel.reference.codec import (
    Certificate,
    OpaqueHandshake,
    ServerHelloDone,
    SignatureScheme,
)
from tlsmodel.reference.config import ClientConfig, ServerConfig
from tlsmodel.reference.faults import FAULTS, Fault, describe_faults, parse_faults
from tlsmodel.reference.rsaparams import encode_rsa_server_key_exchange
from tlsmodel.reference.server import ServerConnection
from tlsmodel.reference.suites import suite_by_name

ECDHE_ECDSA = suite_by_name("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")
ECDHE_RSA = suite_by_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
RSA = suite_by_name("TLS_RSA_WITH_AES_128_GCM_SHA256")


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> pki_mod.TestPKI:
    return pki_mod.make_pki(tmp_path_factory.mktemp("pki"))


def client(test_pki, suite, fault: Fault | None) -> ClientConnection:
    cfg = ClientConfig(
        server_name="localhost",
        anchors=anchors(test_pki),
        suites=(suite,),
        faults=frozenset({fault}) if fault else frozenset(),
    )
    return ClientConnection(cfg)


def server(test_pki, fault: Fault | None, **kw: object) -> ServerConnection:
    cfg = ServerConfig(
        credentials=(credential(test_pki.server_rsa), credential(test_pki.server_ecdsa)),
        faults=frozenset({fault}) if fault else frozenset(),
        **kw,  # type: ignore[arg-type]
    )
    return ServerConnection(cfg)


def oracle_verdict(conn) -> str:
    """What the model's oracle says about the connection's own log: every fault, when on,
    must produce a trace the oracle calls a deviation (the faults exist to test testers)."""
    return judge(Trace("fault", [m.to_json() for m in conn.log]), "test").verdict


def alert_of(conn) -> str:
    return first(drain(conn), ev.Failed).description


def _server_answers(peer: ScriptedServer, conn: ClientConnection) -> list[ev.Event]:
    """The scripted server reads the client's flight and completes with CCS + Finished."""
    peer.read(conn)
    assert peer.engine.verify_finished(peer.received[-1].message)
    peer.ccs().finished().to(conn)
    return drain(conn)


@pytest.mark.parametrize("on", [False, True], ids=["off", "on"])
def test_skip_server_key_exchange(test_pki, on) -> None:
    conn = client(test_pki, ECDHE_ECDSA, Fault.SKIP_SERVER_KEY_EXCHANGE if on else None)
    peer = ScriptedServer(credential(test_pki.server_ecdsa), ECDHE_ECDSA)
    peer.static_ecdh = True
    peer.read(conn)
    peer.server_hello().certificate().send(ServerHelloDone()).to(conn)  # no ServerKeyExchange
    if not on:
        assert alert_of(conn) == "unexpected_message"
        return
    # CVE-2014-3572: the client did ECDH against the certificate's static key.
    done = first(_server_answers(peer, conn), ev.HandshakeComplete)
    assert done.cipher_suite == ECDHE_ECDSA.iana
    assert oracle_verdict(conn) == "deviates"


@pytest.mark.parametrize("on", [False, True], ids=["off", "on"])
def test_accept_rsa_server_key_exchange(test_pki, on) -> None:
    conn = client(test_pki, RSA, Fault.ACCEPT_RSA_SERVER_KEY_EXCHANGE if on else None)
    cred = credential(test_pki.server_rsa)
    peer = ScriptedServer(cred, RSA)
    peer.read(conn)
    peer.server_hello().certificate()
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # the "export" key
    randoms = peer.engine.client_random + peer.engine.server_random
    body = encode_rsa_server_key_exchange(
        weak.public_key(), cred.key, SignatureScheme.rsa_pss_rsae_sha256, randoms
    )
    peer.send(OpaqueHandshake(12, body), ServerHelloDone()).to(conn)
    if not on:
        assert alert_of(conn) == "unexpected_message"
        return
    peer.rsa_key = weak  # FREAK: the premaster is encrypted to the weak key
    assert first(_server_answers(peer, conn), ev.HandshakeComplete).cipher_suite == RSA.iana
    assert oracle_verdict(conn) == "deviates"


def _client_to_done(peer: ScriptedClient, conn: ServerConnection) -> None:
    peer.client_hello().to(conn)
    peer.read(conn)
    assert peer.messages()[-1] == "ServerHelloDone"


@pytest.mark.parametrize("on", [False, True], ids=["off", "on"])
def test_early_ccs(test_pki, on) -> None:
    conn = server(test_pki, Fault.EARLY_CCS if on else None)
    peer = ScriptedClient(ECDHE_RSA)
    _client_to_done(peer, conn)
    peer.engine.set_premaster_secret(b"")  # what the attacker knows
    peer.ccs().finished().to(conn)
    if not on:
        assert alert_of(conn) == "unexpected_message"
        return
    # CVE-2014-0224: the server keyed the connection from an empty premaster secret.
    assert first(drain(conn), ev.HandshakeComplete)
    peer.read(conn)
    assert peer.verify_server_finished()
    conn.send_application_data(b"secret")
    peer.read(conn)
    assert peer.data() == [b"secret"]
    assert oracle_verdict(conn) == "deviates"


@pytest.mark.parametrize("on", [False, True], ids=["off", "on"])
def test_skip_certificate_verify(test_pki, on) -> None:
    conn = server(
        test_pki,
        Fault.SKIP_CERTIFICATE_VERIFY if on else None,
        client_anchors=anchors(test_pki),
        require_client_certificate=True,
    )
    peer = ScriptedClient(ECDHE_RSA)
    _client_to_done(peer, conn)
    assert "CertificateRequest" in peer.messages()
    stolen = credential(test_pki.client_rsa).chain_der  # a certificate without its key
    peer.send(Certificate(stolen))
    peer.key_exchange().ccs().finished().to(conn)  # no CertificateVerify
    if not on:
        assert alert_of(conn) == "unexpected_message"
        return
    # CVE-2015-0205: authenticated as the certificate's owner without proof of its key.
    assert first(drain(conn), ev.HandshakeComplete).peer_certificates == stolen
    assert oracle_verdict(conn) == "deviates"


@pytest.mark.parametrize("on", [False, True], ids=["off", "on"])
def test_finished_without_ccs_client(test_pki, on) -> None:
    conn = client(test_pki, ECDHE_RSA, Fault.FINISHED_WITHOUT_CCS if on else None)
    peer = ScriptedServer(credential(test_pki.server_rsa), ECDHE_RSA)
    peer.read(conn)
    peer.full_flight().to(conn)
    peer.read(conn)
    peer.finished().to(conn)  # no CCS: the Finished travels in the clear
    if not on:
        assert alert_of(conn) == "unexpected_message"
        return
    assert first(drain(conn), ev.HandshakeComplete)
    peer.engine.send_application_data(b"plaintext injected")
    peer.to(conn)
    assert drain(conn) == [ev.ApplicationData(data=b"plaintext injected")]
    assert oracle_verdict(conn) == "deviates"


@pytest.mark.parametrize("on", [False, True], ids=["off", "on"])
def test_finished_without_ccs_server(test_pki, on) -> None:
    conn = server(test_pki, Fault.FINISHED_WITHOUT_CCS if on else None)
    peer = ScriptedClient(ECDHE_RSA)
    _client_to_done(peer, conn)
    peer.key_exchange().finished().to(conn)  # no CCS
    if not on:
        assert alert_of(conn) == "unexpected_message"
        return
    assert first(drain(conn), ev.HandshakeComplete)
    peer.engine.send_application_data(b"plaintext injected")
    peer.to(conn)
    assert drain(conn) == [ev.ApplicationData(data=b"plaintext injected")]
    assert oracle_verdict(conn) == "deviates"


@pytest.mark.parametrize("on", [False, True], ids=["off", "on"])
def test_early_application_data_server(test_pki, on) -> None:
    conn = server(test_pki, Fault.EARLY_APPLICATION_DATA if on else None)
    peer = ScriptedClient(ECDHE_RSA)
    peer.client_hello()
    peer.engine.send_application_data(b"GET /admin")  # before any key exchange
    peer.to(conn)
    events = drain(conn)
    if on:
        assert ev.ApplicationData(data=b"GET /admin") in events
    else:
        assert first(events, ev.Failed).description == "unexpected_message"
    assert oracle_verdict(conn) == "deviates"


@pytest.mark.parametrize("on", [False, True], ids=["off", "on"])
def test_early_application_data_client(test_pki, on) -> None:
    conn = client(test_pki, ECDHE_RSA, Fault.EARLY_APPLICATION_DATA if on else None)
    peer = ScriptedServer(credential(test_pki.server_rsa), ECDHE_RSA)
    peer.read(conn)
    peer.server_hello()
    peer.engine.send_application_data(b"HTTP/1.0 302 evil")
    peer.to(conn)
    events = drain(conn)
    if on:
        assert ev.ApplicationData(data=b"HTTP/1.0 302 evil") in events
    else:
        assert first(events, ev.Failed).description == "unexpected_message"
    assert oracle_verdict(conn) == "deviates"


def test_every_fault_is_tested_listed_and_parsed() -> None:
    tested = {
        Fault.SKIP_SERVER_KEY_EXCHANGE, Fault.ACCEPT_RSA_SERVER_KEY_EXCHANGE, Fault.EARLY_CCS,
        Fault.SKIP_CERTIFICATE_VERIFY, Fault.FINISHED_WITHOUT_CCS, Fault.EARLY_APPLICATION_DATA,
    }  # fmt: skip
    assert tested == set(Fault) == set(FAULTS)
    assert len(describe_faults()) == len(Fault)
    assert all("CVE" in line or "SMACK" in line for line in describe_faults())
    assert parse_faults(["early-ccs"], "server") == {Fault.EARLY_CCS}
    with pytest.raises(ValueError, match="applies to the server"):
        parse_faults(["early-ccs"], "client")
    with pytest.raises(ValueError, match="unknown fault"):
        parse_faults(["nope"], "client")
