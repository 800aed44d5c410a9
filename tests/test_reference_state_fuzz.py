"""Every state × input of both roles, drawn by hypothesis (the h2 ``test_state_machines``
idea): a scripted peer sends a random sequence of *well-formed* messages — correct
cryptography where it can have any — and the reference must answer each with progress or a
typed fatal alert, never another exception, and stay closed after an alert.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from support import pki as pki_mod
from support.refpeers import anchors, credential, drain
from support.refscripted import ScriptedClient, ScriptedServer
from tlsmodel.reference import events as ev
from tlsmodel.reference.alerts import AlertDescription, AlertLevel
from tlsmodel.reference.client import ClientConnection
from tlsmodel.reference.codec import (
    Certificate,
    CertificateRequest,
    CertificateStatus,
    CertificateVerify,
    DigitallySigned,
    Finished,
    HelloRequest,
    NewSessionTicket,
    ServerHelloDone,
)
from tlsmodel.reference.config import ClientConfig, ServerConfig
from tlsmodel.reference.server import ServerConnection
from tlsmodel.reference.suites import suite_by_name

SUITE = suite_by_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
_PKI: list[pki_mod.TestPKI] = []


def _pki() -> pki_mod.TestPKI:
    if not _PKI:
        _PKI.append(pki_mod.make_pki(Path(tempfile.mkdtemp(prefix="tlsmodel-state-"))))
    return _PKI[0]


def _check(conn, seen_failure: list[bool], seen: list) -> None:
    for event in drain(conn):
        seen.append(event)
        assert isinstance(event, ev.Event.__args__), event  # type: ignore[attr-defined]
        if isinstance(event, ev.Failed):
            assert not seen_failure, "a second failure after the first"
            seen_failure.append(True)
    if seen_failure:
        assert conn.closed


SERVER_STEPS = ["hello", "cert_empty", "cert", "cke", "cv", "ccs", "finished", "bad_finished",
                "hello_request", "data", "warning"]  # fmt: skip
CLIENT_STEPS = ["server_hello", "cert", "ske", "cert_request", "done", "status", "ticket",
                "ccs", "finished", "bad_finished", "hello_request", "data", "warning"]  # fmt: skip


def _common(peer, step: str) -> bool:
    if step == "ccs":
        peer.ccs(activate=peer.engine.master_secret is not None)
    elif step == "finished":
        if peer.engine.master_secret is None:
            return False
        peer.finished()
    elif step == "bad_finished":
        peer.send(Finished(b"\x00" * 12))
    elif step == "hello_request":
        peer.send(HelloRequest())
    elif step == "data":
        peer.engine.send_application_data(b"data")
    elif step == "warning":
        peer.engine.send_alert(AlertDescription.user_canceled, AlertLevel.warning)
    else:
        return False
    return True


@given(st.lists(st.sampled_from(SERVER_STEPS), max_size=10))
def test_server_survives_any_order(steps: list[str]) -> None:
    run_server(steps)


def test_server_witness_completes() -> None:
    """The same driver reaches the end: the property above is not vacuous."""
    events = run_server(["hello", "cert_empty", "cke", "ccs", "finished", "data"])
    assert [type(e) for e in events] == [ev.HandshakeComplete, ev.ApplicationData]


def run_server(steps: list[str]) -> list:
    pki = _pki()
    conn = ServerConnection(
        ServerConfig(credentials=(credential(pki.server_rsa),), client_anchors=anchors(pki))
    )
    peer, failed, seen = ScriptedClient(SUITE), [], []
    for step in steps:
        if conn.closed:
            break
        if step == "hello":
            peer.client_hello()
        elif step == "cert_empty":
            peer.send(Certificate(()))
        elif step == "cert":
            peer.send(Certificate(credential(pki.client_rsa).chain_der))
        elif step == "cke":
            if peer.kx is None:
                continue
            peer.key_exchange()
        elif step == "cv":
            peer.send(CertificateVerify(DigitallySigned(0x0804, b"\x01" * 256)))
        elif not _common(peer, step):
            continue
        peer.to(conn)
        peer.read(conn)
        _check(conn, failed, seen)
    return seen


@given(st.lists(st.sampled_from(CLIENT_STEPS), max_size=10))
def test_client_survives_any_order(steps: list[str]) -> None:
    run_client(steps)


def test_client_witness_completes() -> None:
    events = run_client(["server_hello", "cert", "ske", "done", "ccs", "finished", "data"])
    assert [type(e) for e in events] == [ev.HandshakeComplete, ev.ApplicationData]


def run_client(steps: list[str]) -> list:
    pki = _pki()
    cfg = ClientConfig(server_name="localhost", anchors=anchors(pki), suites=(SUITE,))
    conn = ClientConnection(cfg)
    peer, failed, seen = ScriptedServer(credential(pki.server_rsa), SUITE), [], []
    peer.read(conn)
    for step in steps:
        if conn.closed:
            break
        if step == "server_hello":
            peer.server_hello()
        elif step == "cert":
            peer.certificate()
        elif step == "ske":
            if peer.engine.suite is None:
                continue
            peer.send(peer.server_key_exchange())
        elif step == "cert_request":
            peer.send(CertificateRequest((1, 64), (0x0804,)))
        elif step == "done":
            peer.send(ServerHelloDone())
        elif step == "status":
            peer.send(CertificateStatus(b"\x30\x03\x0a\x01\x00"))
        elif step == "ticket":
            peer.send(NewSessionTicket(60, b"ticket"))
        elif not _common(peer, step):
            continue
        peer.to(conn)
        peer.read(conn)
        _check(conn, failed, seen)
    return seen
