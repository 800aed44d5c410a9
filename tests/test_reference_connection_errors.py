"""Out-of-order and malformed input into both roles -> the RFC 5246 §7.2.2 fatal alert, once,
and nothing more afterwards.

The deviant peer is a scripted engine (``support.refscripted``), so each case is exactly one
deviation from a correct handshake.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import pki as pki_mod
from support.refpeers import anchors, credential, drain, first
from support.refscripted import ScriptedClient, ScriptedServer
from tlsmodel.reference import events as ev
from tlsmodel.reference.client import ClientConnection
from tlsmodel.reference.codec import (
    Certificate,
    CertificateStatus,
    Finished,
    HelloRequest,
    NewSessionTicket,
    ServerHelloDone,
)
from tlsmodel.reference.config import ClientConfig, ServerConfig
from tlsmodel.reference.connection import ConnectionStateError
from tlsmodel.reference.extensions import RenegotiationInfo, UnknownExtension
from tlsmodel.reference.server import ServerConnection
from tlsmodel.reference.suites import suite_by_name

ECDHE_RSA = suite_by_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> pki_mod.TestPKI:
    return pki_mod.make_pki(tmp_path_factory.mktemp("pki"))


def new_client(test_pki) -> ClientConnection:
    cfg = ClientConfig(server_name="localhost", anchors=anchors(test_pki), suites=(ECDHE_RSA,))
    return ClientConnection(cfg)


def new_server(test_pki) -> ServerConnection:
    return ServerConnection(ServerConfig(credentials=(credential(test_pki.server_rsa),)))


def refused(conn, description: str) -> None:
    """Exactly one fatal alert was sent, it is ``description``, and the connection is dead."""
    events = drain(conn)
    failed = first(events, ev.Failed)
    assert (failed.description, failed.by_peer) == (description, False), failed
    assert conn.closed
    alerts = [m.to_json() for m in conn.log if m.type == "Alert" and m.sender == conn.role]
    assert alerts == [{"from": conn.role, "type": "Alert", "level": "fatal",
                       "description": description}]  # fmt: skip
    conn.receive_data(b"\x16\x03\x03\x00\x01\x00")  # ignored now
    assert drain(conn) == [] and conn.data_to_send() != b""  # the alert record is queued
    with pytest.raises(ConnectionStateError):
        conn.send_application_data(b"x")


# --- the client, against a scripted server ------------------------------------------------


def scripted_server(test_pki, conn) -> ScriptedServer:
    peer = ScriptedServer(credential(test_pki.server_rsa), ECDHE_RSA)
    peer.read(conn)
    return peer


CLIENT_CASES = {
    "ServerHelloDone first": (lambda p: p.send(ServerHelloDone()), "unexpected_message"),
    "Certificate missing": (lambda p: p.server_hello().send(ServerHelloDone()),
                            "unexpected_message"),
    "ServerHello twice": (lambda p: p.server_hello().server_hello(), "unexpected_message"),
    "CCS before ServerHello": (lambda p: p.ccs(activate=False), "unexpected_message"),
    "suite not offered": (lambda p: p.server_hello(cipher_suite=0x009C), "illegal_parameter"),
    "TLS 1.1": (lambda p: p.server_hello(version=0x0302), "protocol_version"),
    "extension not offered": (
        lambda p: p.server_hello(extensions=(UnknownExtension(0x1234, b""),)),
        "unsupported_extension",
    ),
    "renegotiation_info not empty": (
        lambda p: p.server_hello(extensions=(RenegotiationInfo(b"x" * 12),)),
        "handshake_failure",
    ),
    "NewSessionTicket without the extension": (
        lambda p: p.full_flight(), None),  # completed below
    "CertificateStatus not asked for": (
        lambda p: p.server_hello().certificate().send(CertificateStatus(b"\x30\x00")),
        "unexpected_message",
    ),
    "empty server Certificate": (
        lambda p: p.server_hello().send(Certificate(())), "bad_certificate"),
    "Finished in the clear": (lambda p: p.server_hello().send(Finished(b"\x00" * 12)),
                              "unexpected_message"),
}  # fmt: skip


@pytest.mark.parametrize("case", [c for c, (_, a) in CLIENT_CASES.items() if a], ids=str)
def test_client_refuses(test_pki, case) -> None:
    conn = new_client(test_pki)
    script, alert = CLIENT_CASES[case]
    script(scripted_server(test_pki, conn)).to(conn)
    refused(conn, alert)


def test_client_refuses_unannounced_ticket_and_bad_finished(test_pki) -> None:
    conn = new_client(test_pki)
    peer = scripted_server(test_pki, conn)
    peer.full_flight().to(conn)
    peer.read(conn)
    peer.send(NewSessionTicket(7200, b"t")).to(conn)  # ServerHello had no session_ticket
    refused(conn, "unexpected_message")

    conn = new_client(test_pki)
    peer = scripted_server(test_pki, conn)
    peer.full_flight().to(conn)
    peer.read(conn)
    peer.ccs().send(Finished(b"\x00" * 12)).to(conn)
    refused(conn, "decrypt_error")


def test_client_refuses_forged_server_key_exchange(test_pki) -> None:
    conn = new_client(test_pki)
    peer = scripted_server(test_pki, conn)
    ske = peer.server_key_exchange()
    forged = type(ske)(
        ske.params, type(ske.signed)(ske.signed.scheme, bytes(len(ske.signed.signature)))
    )
    peer.server_hello().certificate().send(forged).to(conn)
    refused(conn, "decrypt_error")


def test_client_ignores_hello_request_mid_handshake(test_pki) -> None:
    conn = new_client(test_pki)
    peer = scripted_server(test_pki, conn)
    peer.server_hello().send(HelloRequest()).certificate().to(conn)
    assert drain(conn) == [] and not conn.closed


# --- the server, against a scripted client ------------------------------------------------


def scripted_client() -> ScriptedClient:
    return ScriptedClient(ECDHE_RSA)


SERVER_CASES = {
    "Certificate first": (lambda p: p.send(Certificate(())), "unexpected_message"),
    "HelloRequest from a client": (lambda p: p.send(HelloRequest()), "unexpected_message"),
    "TLS 1.0 only": (lambda p: p.client_hello(version=0x0301), "protocol_version"),
    "no null compression": (lambda p: p.client_hello(compression_methods=(1,)),
                            "illegal_parameter"),
    "no common suite": (lambda p: p.client_hello(cipher_suites=(0x1301,)), "handshake_failure"),
    "renegotiation_info not empty": (
        lambda p: p.client_hello(extensions=(RenegotiationInfo(b"y" * 12),)),
        "handshake_failure",
    ),
    "CCS right after ClientHello": (lambda p: p.client_hello().ccs(activate=False),
                                    "unexpected_message"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(SERVER_CASES), ids=str)
def test_server_refuses(test_pki, case) -> None:
    conn = new_server(test_pki)
    script, alert = SERVER_CASES[case]
    script(scripted_client()).to(conn)
    refused(conn, alert)


@pytest.mark.parametrize(
    ("deviation", "alert"),
    [
        ("finished before key exchange", "unexpected_message"),
        ("unrequested certificate", "unexpected_message"),
        ("wrong finished", "decrypt_error"),
        ("application data before finished", "unexpected_message"),
    ],
)
def test_server_refuses_after_its_flight(test_pki, deviation, alert) -> None:
    conn = new_server(test_pki)
    peer = scripted_client()
    peer.client_hello().to(conn)
    peer.read(conn)
    if deviation == "finished before key exchange":
        peer.send(Finished(b"\x01" * 12))
    elif deviation == "unrequested certificate":
        peer.send(Certificate(credential(test_pki.client_rsa).chain_der))
    elif deviation == "wrong finished":
        peer.key_exchange().ccs().send(Finished(b"\x01" * 12))
    else:
        peer.key_exchange().ccs()
        peer.engine.send_application_data(b"too early")
    peer.to(conn)
    refused(conn, alert)


@pytest.mark.parametrize(
    ("record", "alert"),
    [
        (b"\x18\x03\x03\x00\x01\x00", "unexpected_message"),  # unknown content type
        (b"\x16\x03\x03\x00\x05\x01\x00\x00\x01\x03", "decode_error"),  # 1-byte hello
        (b"\x15\x03\x03\x00\x03\x02\x28\x00", "decode_error"),  # alert of 3 bytes
        (b"\x16\x03\x03\x48\x01" + b"\x00" * 5, "record_overflow"),  # > 2^14 + 2048
    ],
)
def test_server_refuses_malformed_records(test_pki, record, alert) -> None:
    conn = new_server(test_pki)
    conn.receive_data(record)
    refused(conn, alert)


@given(st.binary(max_size=300))
def test_random_bytes_only_ever_produce_an_alert(data: bytes) -> None:
    """Fuzz both roles' inputs: nothing but a typed alert or a wait for more data."""
    for conn in (new_server(_fuzz_pki()), new_client(_fuzz_pki())):
        conn.receive_data(data)
        _only_alerts(conn)


@given(st.data())
def test_mutated_flights_only_ever_produce_an_alert(data: st.DataObject) -> None:
    """A real ClientHello and a real server flight with bytes flipped, cut or appended."""
    pki = _fuzz_pki()
    client, server = new_client(pki), new_server(pki)
    hello = client.data_to_send()
    server.receive_data(hello)
    flight = server.data_to_send()
    for target, valid in ((new_server(pki), hello), (new_client(pki), flight)):
        mutated = bytearray(valid)
        for _ in range(data.draw(st.integers(1, 4))):
            index = data.draw(st.integers(0, len(mutated) - 1))
            mutated[index] = data.draw(st.integers(0, 255))
        cut = data.draw(st.integers(0, len(mutated)))
        target.receive_data(bytes(mutated[:cut]) + data.draw(st.binary(max_size=20)))
        _only_alerts(target)


def _only_alerts(conn) -> None:
    for event in drain(conn):
        assert isinstance(event, ev.Failed | ev.AlertReceived | ev.PeerClosed), event


_PKI: list[pki_mod.TestPKI] = []


def _fuzz_pki() -> pki_mod.TestPKI:
    """One PKI for all hypothesis examples (function-scoped fixtures do not mix with @given)."""
    if not _PKI:
        _PKI.append(pki_mod.make_pki(Path(tempfile.mkdtemp(prefix="tlsmodel-fuzz-"))))
    return _PKI[0]
