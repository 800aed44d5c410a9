"""The reference client and server against OpenSSL on 127.0.0.1 (``openssl s_server/s_client
-tls1_2``), and against GnuTLS inside a private network namespace.

Bounded on purpose: one long-lived ``s_server`` per configuration serves every suite (the
client picks the suite), so the kx × bulk matrix costs one handshake per suite, not one
process; each ``s_client`` run has a timeout; every process is stopped by the fixtures of
``support.peers`` even when a test fails.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from support import peers
from support import pki as pki_mod
from support.refpeers import ReferenceServer, anchors, credential, first, run_client, types
from tlsmodel.reference import events as ev
from tlsmodel.reference.codec import NamedGroup, SignatureScheme
from tlsmodel.reference.config import ClientConfig, ServerConfig
from tlsmodel.reference.session import SessionCache, TicketKeys
from tlsmodel.reference.suites import SUITES, KeyExchangeKind, parse_suite_list

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed"),
]

ECDHE_RSA_GCM = parse_suite_list("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> pki_mod.TestPKI:
    return pki_mod.make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("interop")


def client_config(test_pki: pki_mod.TestPKI, **kw: object) -> ClientConfig:
    return ClientConfig(server_name="localhost", anchors=anchors(test_pki), **kw)  # type: ignore[arg-type]


def server_config(test_pki: pki_mod.TestPKI, **kw: object) -> ServerConfig:
    creds = (credential(test_pki.server_rsa), credential(test_pki.server_ecdsa))
    return ServerConfig(credentials=creds, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def s_servers(test_pki, workdir) -> Iterator[dict[str, peers.Peer]]:
    """Long-lived ``s_server -www`` peers: RSA and ECDSA certificates, tickets on and off."""
    with (
        peers.openssl_server(test_pki, workdir, cert="rsa", naccept=None, dhparams=True,
                             extra=["-www"]) as rsa,
        peers.openssl_server(test_pki, workdir, cert="ecdsa", naccept=None,
                             extra=["-www"]) as ecdsa,
        peers.openssl_server(test_pki, workdir, cert="rsa", naccept=None, no_ticket=True,
                             extra=["-www"]) as no_ticket,
    ):  # fmt: skip
        yield {"rsa": rsa, "ecdsa": ecdsa, "no_ticket": no_ticket}


def _server_for(suite) -> str:
    return "ecdsa" if suite.kx is KeyExchangeKind.ECDHE_ECDSA else "rsa"


# --- reference client -> openssl s_server -------------------------------------------------


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.iana)
def test_client_to_openssl_every_suite(test_pki, s_servers, suite) -> None:
    port = s_servers[_server_for(suite)].port
    conn, events, reply = run_client(client_config(test_pki, suites=(suite,)), port)
    done = first(events, ev.HandshakeComplete)
    assert done.cipher_suite == suite.iana and done.extended_master_secret
    assert reply.startswith(b"HTTP/1.0 200 ok") and suite.openssl.encode() in reply
    assert ev.PeerClosed(clean=True) in events
    assert types(conn)[-2:] == ["Alert", "Alert"]  # close_notify both ways


_RSA_GCM = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
_ECDSA_GCM = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"


@pytest.mark.parametrize(
    ("suite", "scheme", "group"),
    [
        *((_RSA_GCM, scheme, group)
          for scheme in (SignatureScheme.rsa_pkcs1_sha256, SignatureScheme.rsa_pss_rsae_sha256)
          for group in (NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1)),
        # OpenSSL wants the ECDSA certificate's curve (P-256) among the offered groups.
        (_ECDSA_GCM, SignatureScheme.ecdsa_secp256r1_sha256, NamedGroup.secp256r1),
    ],
)  # fmt: skip
def test_client_to_openssl_every_group_and_signature(test_pki, s_servers, group, suite, scheme):
    """The client offers one group and one scheme, so a completed handshake used exactly those
    (it refuses a ServerKeyExchange with any other)."""
    [chosen] = parse_suite_list(suite)
    cfg = client_config(test_pki, suites=(chosen,), groups=(group,), signature_schemes=(scheme,))
    conn, events, reply = run_client(cfg, s_servers[_server_for(chosen)].port)
    assert first(events, ev.HandshakeComplete).cipher_suite == suite, types(conn)
    assert reply.startswith(b"HTTP/1.0 200 ok")


@pytest.mark.parametrize("mode", ["ticket", "id"])
def test_client_resumes_with_openssl(test_pki, s_servers, mode) -> None:
    port = s_servers["rsa" if mode == "ticket" else "no_ticket"].port
    cfg = client_config(test_pki, suites=ECDHE_RSA_GCM, session_tickets=mode == "ticket")
    _, events, _ = run_client(cfg, port)
    session = first(events, ev.HandshakeComplete).session
    assert (session.ticket is not None) == (mode == "ticket")
    conn, events, reply = run_client(cfg, port, session=session)
    assert first(events, ev.HandshakeComplete).resumed
    assert b"Reused" in reply  # s_server -www reports it
    assert "Certificate" not in types(conn)


@pytest.mark.parametrize("allowed", [True, False], ids=["accepted", "declined"])
def test_client_renegotiates_with_openssl(test_pki, workdir, allowed) -> None:
    # s_server -www buffers its output, so a renegotiation flight would never leave it: use
    # -rev (echo reversed). OpenSSL 3 refuses client renegotiation unless told otherwise.
    extra = ["-rev", "-client_renegotiation"] if allowed else ["-rev"]
    cfg = client_config(test_pki, suites=ECDHE_RSA_GCM)
    with peers.openssl_server(test_pki, workdir, extra=extra) as srv:
        conn, events, reply = run_client(cfg, srv.port, b"hello\n", renegotiate=True)
    completes = [e for e in events if isinstance(e, ev.HandshakeComplete)]
    assert [c.renegotiation for c in completes] == ([False, True] if allowed else [False])
    assert (ev.RenegotiationDeclined() in events) is not allowed
    assert reply == b"olleh\n"
    assert types(conn).count("ClientHello") == 2


def test_client_verifies_openssl_stapled_ocsp(test_pki, workdir) -> None:
    with peers.openssl_server(
        test_pki, workdir, status_file=test_pki.ocsp_rsa, extra=["-www"]
    ) as srv:
        conn, events, _ = run_client(client_config(test_pki, suites=ECDHE_RSA_GCM), srv.port)
    assert first(events, ev.HandshakeComplete).ocsp_response == test_pki.ocsp_rsa.read_bytes()
    assert "CertificateStatus" in types(conn)


@pytest.mark.parametrize(
    ("auth", "pair", "outcome"),
    [
        ("request", None, "ok"),
        ("request", "client_ecdsa", "ok"),
        ("require", "client_rsa", "ok"),
        ("require", None, "handshake_failure"),
    ],
)
def test_client_authenticates_to_openssl(test_pki, workdir, auth, pair, outcome) -> None:
    cred = credential(getattr(test_pki, pair)) if pair else None
    cfg = client_config(test_pki, suites=ECDHE_RSA_GCM, credential=cred)
    with peers.openssl_server(test_pki, workdir, client_auth=auth, extra=["-www"]) as srv:
        conn, events, reply = run_client(cfg, srv.port)
    sent = next(m for m in conn.log if m.sender == "client" and m.type == "Certificate")
    assert sent.to_json()["empty"] is (pair is None)
    assert ("CertificateVerify" in types(conn, "client")) is (pair is not None)
    if outcome == "ok":
        assert reply.startswith(b"HTTP/1.0 200 ok")
    else:
        assert first(events, ev.Failed).description == outcome


# --- openssl s_client -> reference server -------------------------------------------------


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.iana)
def test_openssl_client_to_server_every_suite(test_pki, workdir, suite) -> None:
    with ReferenceServer(server_config(test_pki)) as server:
        run = peers.openssl_client(
            server.port, workdir, steps=(b"hello reference\n", 0.3), ca=test_pki.ca,
            cipher=suite.openssl,
        )  # fmt: skip
    out = run.stdout()
    assert "Verify return code: 0 (ok)" in out and "hello reference" in out, run.describe()
    _conn, events = server.served[0]
    assert first(events, ev.HandshakeComplete).cipher_suite == suite.iana
    assert ev.ApplicationData(data=b"hello reference\n") in events
    assert ev.PeerClosed(clean=True) in events


@pytest.mark.parametrize("tickets", [True, False], ids=["ticket", "id"])
def test_openssl_client_resumes_with_server(test_pki, workdir, tickets) -> None:
    cfg = server_config(
        test_pki, ticket_keys=TicketKeys() if tickets else None, session_cache=SessionCache()
    )
    with ReferenceServer(cfg) as server:
        run = peers.openssl_client(
            server.port, workdir, ca=test_pki.ca, reconnect=True, no_ticket=not tickets,
            steps=(1.5,),
        )  # fmt: skip
    assert run.stdout().count("Reused, TLSv1.2") >= 4, run.describe()
    resumed = [first(e, ev.HandshakeComplete).resumed for _, e in server.served]
    assert resumed[0] is False and all(resumed[1:]) and len(resumed) >= 5
    tickets_sent = ["NewSessionTicket" in types(c) for c, _ in server.served]
    assert tickets_sent[0] is tickets


@pytest.mark.parametrize("initiator", ["client", "server"])
def test_openssl_client_renegotiation(test_pki, workdir, initiator) -> None:
    first_step = b"R\n" if initiator == "client" else b"before\n"
    steps = (first_step, 0.6, b"after\n", 0.3)
    # Data flows after the renegotiation either way (the server sends its HelloRequest after
    # answering "before": s_client 3.0 stalls when data follows a HelloRequest).
    cfg = server_config(test_pki)
    with ReferenceServer(cfg, renegotiate=initiator == "server", timeout=1.5) as server:
        run = peers.openssl_client(server.port, workdir, ca=test_pki.ca, steps=steps)
    conn, events = server.served[0]
    assert ev.ApplicationData(data=b"after\n") in events, run.describe()
    assert "after" in run.stdout().split("---")[-1], run.describe()
    completes = [e for e in events if isinstance(e, ev.HandshakeComplete)]
    assert [c.renegotiation for c in completes] == [False, True], run.describe()
    assert types(conn).count("ClientHello") == 2
    assert ("HelloRequest" in types(conn)) is (initiator == "server")


@pytest.mark.parametrize(
    ("require", "pair", "outcome"),
    [
        (False, None, "ok"),
        (False, "client_rsa", "ok"),
        (True, "client_ecdsa", "ok"),
        (True, None, "handshake_failure"),
    ],
)
def test_openssl_client_authenticates_to_server(test_pki, workdir, require, pair, outcome):
    cfg = server_config(
        test_pki, client_anchors=anchors(test_pki), require_client_certificate=require
    )
    keypair = getattr(test_pki, pair) if pair else None
    with ReferenceServer(cfg) as server:
        run = peers.openssl_client(
            server.port, workdir, ca=test_pki.ca, cert=keypair, steps=(b"hi\n", 0.3)
        )
    _conn, events = server.served[0]
    if outcome == "ok":
        done = first(events, ev.HandshakeComplete)
        assert bool(done.peer_certificates) is (pair is not None)
        assert ev.ApplicationData(data=b"hi\n") in events
    else:
        assert first(events, ev.Failed).description == outcome, run.describe()


def test_openssl_client_gets_stapled_ocsp(test_pki, workdir) -> None:
    cfg = server_config(test_pki, ocsp_response=test_pki.ocsp_rsa.read_bytes())
    with ReferenceServer(cfg) as server:
        run = peers.openssl_client(
            server.port, workdir, ca=test_pki.ca, status=True, cipher="ECDHE-RSA-AES128-GCM-SHA256"
        )
    assert "OCSP Response Status: successful" in run.stdout(), run.describe()
    assert "CertificateStatus" in types(server.served[0][0])


def test_server_with_tickets_off_and_ems_off(test_pki, workdir) -> None:
    cfg = replace(server_config(test_pki), ticket_keys=None, extended_master_secret=False)
    with ReferenceServer(cfg) as server:
        run = peers.openssl_client(server.port, workdir, ca=test_pki.ca, steps=(b"x\n", 0.3))
    done = first(server.served[0][1], ev.HandshakeComplete)
    assert not done.extended_master_secret and "NewSessionTicket" not in types(server.served[0][0])
    assert "Extended master secret: no" in run.stdout(), run.describe()
