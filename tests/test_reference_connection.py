"""The reference Connection, client against server in memory (sans-IO), feature by feature.

Each test builds configs from the generated test PKI, pumps bytes between the two roles and
checks the events and the message log — the log is what ``--trace-out`` writes, so these
tests also pin the trace vocabulary. Deviant input (out of order, malformed) is in
``test_reference_connection_errors.py``; faults in ``test_reference_faults.py``.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from support import pki as pki_mod
from support.refpeers import anchors, credential, drain, first, pump, types
from tlsmodel.reference import events as ev
from tlsmodel.reference.client import ClientConnection
from tlsmodel.reference.config import ClientConfig, ServerConfig
from tlsmodel.reference.connection import ConnectionStateError
from tlsmodel.reference.server import ServerConnection
from tlsmodel.reference.session import SessionCache, TicketKeys
from tlsmodel.reference.suites import SUITES, parse_suite_list


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> pki_mod.TestPKI:
    return pki_mod.make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def server_config(test_pki: pki_mod.TestPKI) -> ServerConfig:
    return ServerConfig(
        credentials=(credential(test_pki.server_rsa), credential(test_pki.server_ecdsa))
    )


def client_config(test_pki: pki_mod.TestPKI, **kw: object) -> ClientConfig:
    return ClientConfig(server_name="localhost", anchors=anchors(test_pki), **kw)  # type: ignore[arg-type]


def handshake(
    client_cfg: ClientConfig, server_cfg: ServerConfig, session: object = None
) -> tuple[ClientConnection, ServerConnection, list[ev.Event], list[ev.Event]]:
    client = ClientConnection(client_cfg, session)  # type: ignore[arg-type]
    server = ServerConnection(server_cfg)
    pump(client, server)
    return client, server, drain(client), drain(server)


FULL_RSA = [
    "ClientHello", "ServerHello", "Certificate", "ServerHelloDone", "ClientKeyExchange",
    "ChangeCipherSpec", "Finished", "NewSessionTicket", "ChangeCipherSpec", "Finished",
]  # fmt: skip


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.iana)
def test_every_suite_full_handshake_and_data(test_pki, server_config, suite) -> None:
    client, server, cev, sev = handshake(client_config(test_pki, suites=(suite,)), server_config)
    done = first(cev, ev.HandshakeComplete)
    assert done.cipher_suite == suite.iana and not done.resumed
    assert done.extended_master_secret and done.secure_renegotiation
    assert first(sev, ev.HandshakeComplete).cipher_suite == suite.iana
    expected = list(FULL_RSA)
    if suite.kx.ephemeral:
        expected.insert(3, "ServerKeyExchange")
    assert types(client) == expected
    big = bytes(range(256)) * 200  # 51 KiB: several records
    client.send_application_data(b"ping")
    server.send_application_data(big)
    pump(client, server)
    assert [e.data for e in drain(server)] == [b"ping"]
    assert b"".join(e.data for e in drain(client)) == big


def test_encrypt_then_mac_negotiated_only_for_cbc(test_pki, server_config) -> None:
    cbc = parse_suite_list("TLS_RSA_WITH_AES_128_CBC_SHA")
    client, *_ = handshake(client_config(test_pki, suites=cbc), server_config)
    assert "encrypt_then_mac" in client.log[1].to_json()["extensions"]
    gcm = parse_suite_list("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    client, *_ = handshake(client_config(test_pki, suites=gcm), server_config)
    assert "encrypt_then_mac" not in client.log[1].to_json()["extensions"]


def test_ems_off_on_either_side_gives_a_plain_master_secret(test_pki, server_config) -> None:
    _, _, cev, _ = handshake(client_config(test_pki, extended_master_secret=False), server_config)
    assert not first(cev, ev.HandshakeComplete).extended_master_secret
    no_ems = replace(server_config, extended_master_secret=False)
    _, _, cev, _ = handshake(client_config(test_pki), no_ems)
    assert not first(cev, ev.HandshakeComplete).extended_master_secret


def test_close_notify_both_ways(test_pki, server_config) -> None:
    client, server, _, _ = handshake(client_config(test_pki), server_config)
    client.close()
    pump(client, server)
    assert drain(server) == [ev.PeerClosed(clean=True)]
    assert drain(client) == [ev.PeerClosed(clean=True)]
    assert client.closed and server.closed
    assert types(server, "server")[-1] == "Alert"
    with pytest.raises(ConnectionStateError):
        client.send_application_data(b"late")


def test_transport_end_without_close_notify_is_reported(test_pki, server_config) -> None:
    _client, server, _, _ = handshake(client_config(test_pki), server_config)
    server.receive_data(b"")
    assert drain(server) == [ev.PeerClosed(clean=False)]


def test_application_data_before_handshake_is_refused_locally(test_pki) -> None:
    client = ClientConnection(client_config(test_pki))
    with pytest.raises(ConnectionStateError):
        client.send_application_data(b"x")


@pytest.mark.parametrize("pair", ["client_rsa", "client_ecdsa"])
def test_client_authentication_required(test_pki, server_config, pair) -> None:
    cfg = replace(server_config, client_anchors=anchors(test_pki), require_client_certificate=True)
    cred = credential(getattr(test_pki, pair))
    client, _server, _cev, sev = handshake(client_config(test_pki, credential=cred), cfg)
    assert first(sev, ev.HandshakeComplete).peer_certificates == cred.chain_der
    assert types(client, "client")[:3] == ["ClientHello", "Certificate", "ClientKeyExchange"]
    assert "CertificateVerify" in types(client, "client")
    assert "CertificateRequest" in types(client, "server")


def test_client_authentication_requested_and_declined(test_pki, server_config) -> None:
    cfg = replace(server_config, client_anchors=anchors(test_pki))
    client, _server, _cev, sev = handshake(client_config(test_pki), cfg)
    assert first(sev, ev.HandshakeComplete).peer_certificates == ()
    cert = next(m for m in client.log if m.sender == "client" and m.type == "Certificate")
    assert cert.to_json()["empty"] is True
    assert "CertificateVerify" not in types(client)


def test_client_authentication_required_but_empty(test_pki, server_config) -> None:
    cfg = replace(server_config, client_anchors=anchors(test_pki), require_client_certificate=True)
    _client, _server, cev, sev = handshake(client_config(test_pki), cfg)
    assert first(sev, ev.Failed).description == "handshake_failure"
    assert first(cev, ev.Failed) == ev.Failed(
        description="handshake_failure", reason="fatal alert from peer", by_peer=True
    )


def test_client_certificate_from_another_ca_is_unknown_ca(test_pki, server_config, tmp_path):
    other = pki_mod.make_pki(tmp_path / "other")
    cfg = replace(server_config, client_anchors=anchors(test_pki))
    cred = credential(other.client_ecdsa)
    _, _, _, sev = handshake(client_config(test_pki, credential=cred), cfg)
    assert first(sev, ev.Failed).description == "unknown_ca"


def test_server_name_mismatch_and_unknown_ca(test_pki, server_config, tmp_path) -> None:
    cfg = ClientConfig(server_name="example.org", anchors=anchors(test_pki))
    _, _, cev, sev = handshake(cfg, server_config)
    assert first(cev, ev.Failed).description == "bad_certificate"
    assert first(sev, ev.Failed).by_peer
    other = pki_mod.make_pki(tmp_path / "other")
    _, _, cev, _ = handshake(client_config(other), server_config)
    assert first(cev, ev.Failed).description == "unknown_ca"


def test_resumption_by_session_id(test_pki, server_config) -> None:
    cfg = replace(server_config, ticket_keys=None, session_cache=SessionCache())
    ccfg = client_config(test_pki)
    _, _, cev, _ = handshake(ccfg, cfg)
    session = first(cev, ev.HandshakeComplete).session
    assert session.ticket is None and len(session.session_id) == 32
    client, server, cev, sev = handshake(ccfg, cfg, session)
    assert first(cev, ev.HandshakeComplete).resumed and first(sev, ev.HandshakeComplete).resumed
    assert types(client) == [
        "ClientHello", "ServerHello", "ChangeCipherSpec", "Finished", "ChangeCipherSpec", "Finished"
    ]  # fmt: skip
    assert client.log[1].to_json()["resumed"] is True
    client.send_application_data(b"after resumption")
    pump(client, server)
    assert drain(server) == [ev.ApplicationData(data=b"after resumption")]


def test_resumption_by_ticket_and_renewal(test_pki, server_config) -> None:
    keys = TicketKeys()
    cfg = replace(server_config, ticket_keys=keys, session_cache=None)
    ccfg = client_config(test_pki)
    _, _, cev, _ = handshake(ccfg, cfg)
    session = first(cev, ev.HandshakeComplete).session
    assert session.ticket and session.session_id == b""
    client, _, cev, _ = handshake(ccfg, cfg, session)
    assert first(cev, ev.HandshakeComplete).resumed
    assert "NewSessionTicket" not in types(client)  # fresh ticket: no renewal
    keys.rotate()  # the old key still opens, but asks for a new ticket
    client, _, cev, _ = handshake(ccfg, cfg, session)
    renewed = first(cev, ev.HandshakeComplete)
    assert renewed.resumed and types(client)[2] == "NewSessionTicket"
    assert renewed.session.ticket != session.ticket
    keys.rotate()
    keys.rotate()  # now the first key is gone: full handshake
    _, _, cev, _ = handshake(ccfg, cfg, session)
    assert not first(cev, ev.HandshakeComplete).resumed


def test_expired_forged_or_mismatched_sessions_are_not_resumed(test_pki, server_config) -> None:
    now = [1000.0]
    keys = TicketKeys(lifetime=100)
    cfg = replace(server_config, ticket_keys=keys, clock=lambda: now[0])
    ccfg = client_config(test_pki, clock=lambda: now[0])
    session = first(handshake(ccfg, cfg)[2], ev.HandshakeComplete).session
    forged = replace(session, ticket=session.ticket[:-1] + bytes([session.ticket[-1] ^ 1]))
    assert not first(handshake(ccfg, cfg, forged)[2], ev.HandshakeComplete).resumed
    no_ems = client_config(test_pki, extended_master_secret=False, clock=lambda: now[0])
    # RFC 7627 §5.3: an EMS session is not resumed by a handshake without EMS.
    assert not first(handshake(no_ems, cfg, session)[2], ev.HandshakeComplete).resumed
    now[0] += 101
    assert not first(handshake(ccfg, cfg, session)[2], ev.HandshakeComplete).resumed


def test_fatal_alert_removes_session_from_cache(test_pki, server_config) -> None:
    cache = SessionCache()
    cfg = replace(server_config, ticket_keys=None, session_cache=cache)
    client, server, _, _ = handshake(client_config(test_pki), cfg)
    assert len(cache) == 1
    client.receive_data(b"\x17\x03\x03\x00\x20" + b"\x00" * 32)  # a record that fails to open
    pump(client, server)
    assert first(drain(server), ev.Failed).description == "bad_record_mac"
    assert len(cache) == 0


def test_ocsp_stapling(test_pki, server_config) -> None:
    response = test_pki.ocsp_rsa.read_bytes()
    cfg = replace(server_config, ocsp_response=response)
    rsa = parse_suite_list("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    client, _, cev, _ = handshake(client_config(test_pki, suites=rsa), cfg)
    assert first(cev, ev.HandshakeComplete).ocsp_response == response
    assert types(client)[3] == "CertificateStatus"
    assert "status_request" in client.log[1].to_json()["extensions"]
    client, _, cev, _ = handshake(client_config(test_pki, suites=rsa, request_ocsp=False), cfg)
    assert "CertificateStatus" not in types(client)


def test_ocsp_response_for_another_certificate_is_rejected(test_pki, server_config) -> None:
    # A server holding only the ECDSA certificate staples the RSA one's response as configured.
    cfg = replace(
        server_config,
        credentials=(credential(test_pki.server_ecdsa),),
        ocsp_response=test_pki.ocsp_rsa.read_bytes(),
    )
    ecdsa = parse_suite_list("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")
    _, _, cev, _ = handshake(client_config(test_pki, suites=ecdsa), cfg)
    assert first(cev, ev.Failed).description == "bad_certificate_status_response"


def test_ocsp_response_stapled_only_with_the_certificate_it_names(test_pki, server_config):
    # RSA and ECDSA certificates, one response (for the RSA one): ECDSA handshakes go unstapled.
    cfg = replace(server_config, ocsp_response=test_pki.ocsp_rsa.read_bytes())
    ecdsa = parse_suite_list("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")
    client, _, cev, _ = handshake(client_config(test_pki, suites=ecdsa), cfg)
    done = first(cev, ev.HandshakeComplete)
    assert done.ocsp_response is None and "CertificateStatus" not in types(client)
    rsa = parse_suite_list("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    client, _, cev, _ = handshake(client_config(test_pki, suites=rsa), cfg)
    assert first(cev, ev.HandshakeComplete).ocsp_response == cfg.ocsp_response


def test_client_initiated_renegotiation_with_data_flowing(test_pki, server_config) -> None:
    client, server, _, _ = handshake(client_config(test_pki), server_config)
    client.renegotiate()
    server.send_application_data(b"during")  # allowed: no CCS of the server yet
    pump(client, server)
    cev, sev = drain(client), drain(server)
    assert ev.ApplicationData(data=b"during") in cev
    assert first(cev, ev.HandshakeComplete).renegotiation
    assert first(sev, ev.HandshakeComplete).renegotiation
    info = [m.to_json() for m in client.log if m.type == "ServerHello"][-1]
    assert "renegotiation_info" in info["extensions"]
    client.send_application_data(b"after")
    pump(client, server)
    assert drain(server) == [ev.ApplicationData(data=b"after")]


def test_server_initiated_renegotiation(test_pki, server_config) -> None:
    client, server, _, _ = handshake(client_config(test_pki), server_config)
    server.renegotiate()
    pump(client, server)
    assert first(drain(client), ev.HandshakeComplete).renegotiation
    assert types(client).count("ClientHello") == 2 and "HelloRequest" in types(client)


def test_renegotiation_declined_both_ways(test_pki, server_config) -> None:
    client, server, _, _ = handshake(
        client_config(test_pki, renegotiation=False), replace(server_config, renegotiation=False)
    )
    server.renegotiate()
    pump(client, server)
    assert drain(server) == [ev.RenegotiationDeclined()]
    client.renegotiate()
    pump(client, server)
    assert drain(client) == [ev.RenegotiationDeclined()]
    client.send_application_data(b"still here")
    pump(client, server)
    assert drain(server) == [ev.ApplicationData(data=b"still here")]


def test_no_common_suite_is_handshake_failure(test_pki) -> None:
    ecdsa_only = ServerConfig(credentials=(credential(test_pki.server_ecdsa),))
    rsa_suites = parse_suite_list("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,AES128-SHA")
    _, _, cev, sev = handshake(client_config(test_pki, suites=rsa_suites), ecdsa_only)
    assert first(sev, ev.Failed).description == "handshake_failure"
    assert first(cev, ev.Failed).by_peer


def test_trace_json_uses_the_model_vocabulary(test_pki, server_config) -> None:
    client, server, _, _ = handshake(client_config(test_pki), server_config)
    client.close()
    pump(client, server)
    trace = [m.to_json() for m in server.log]
    assert trace[0] == {"from": "client", "type": "ClientHello"}
    assert trace[1]["from"] == "server" and trace[1]["resumed"] is False
    assert trace[2] == {"from": "server", "type": "Certificate", "empty": False, "fixed_dh": False}
    assert trace[-2:] == [
        {"from": "client", "type": "Alert", "level": "warning", "description": "close_notify"},
        {"from": "server", "type": "Alert", "level": "warning", "description": "close_notify"},
    ]
    assert [m.to_json() for m in client.log] == trace


def test_log_stays_bounded_under_bulk_data(test_pki, server_config) -> None:
    client, server, _, _ = handshake(client_config(test_pki), server_config)
    before = len(server.log)
    for _ in range(50):
        client.send_application_data(b"x" * 20000)
        pump(client, server)
    server.send_application_data(b"y")
    client.send_application_data(b"z")
    pump(client, server)
    assert [m.type for m in server.log[before:]] == ["ApplicationData"] * 3
    assert [m.sender for m in server.log[before:]] == ["client", "server", "client"]
    assert sum(len(e.data) for e in drain(server)) == 50 * 20000 + 1


def test_renegotiation_must_keep_the_server_certificate(test_pki, server_config) -> None:
    client, server, cev, _ = handshake(client_config(test_pki), server_config)
    assert first(cev, ev.HandshakeComplete).cipher_suite.startswith("TLS_ECDHE_ECDSA")
    # The same server now only has its RSA certificate: a renegotiation would switch identity.
    server._config = replace(server_config, credentials=(credential(test_pki.server_rsa),))
    client.renegotiate()
    pump(client, server)
    failed = first(drain(client), ev.Failed)
    assert (failed.description, failed.reason) == ("bad_certificate", "server certificate changed")


def test_fatal_alert_on_a_resumed_connection_forgets_the_session(test_pki, server_config):
    cache = SessionCache()
    cfg = replace(server_config, ticket_keys=None, session_cache=cache)
    _, _, cev, _ = handshake(client_config(test_pki), cfg)
    session = first(cev, ev.HandshakeComplete).session
    client, server, cev, _ = handshake(client_config(test_pki), cfg, session)
    assert first(cev, ev.HandshakeComplete).resumed and len(cache) == 1
    client.receive_data(b"\x17\x03\x03\x00\x20" + b"\x00" * 32)
    pump(client, server)
    assert len(cache) == 0


def _revoked_ocsp(test_pki) -> bytes:
    """A syntactically valid OCSP response saying the RSA server certificate is revoked (its
    signature is not checked by the client, so a throw-away responder signs it)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509 import ocsp
    from cryptography.x509.oid import NameOID

    ca = x509.load_pem_x509_certificate(test_pki.ca.read_bytes())
    leaf = x509.load_pem_x509_certificate(test_pki.server_rsa.cert.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "responder")])
    responder = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    response = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=leaf, issuer=ca, algorithm=hashes.SHA1(),
            cert_status=ocsp.OCSPCertStatus.REVOKED, this_update=now, next_update=None,
            revocation_time=now, revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, responder)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return response.public_bytes(serialization.Encoding.DER)


def test_revoked_or_garbage_ocsp_staples_are_refused(test_pki, server_config) -> None:
    rsa = parse_suite_list("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    for staple, alert in (
        (_revoked_ocsp(test_pki), "certificate_revoked"),
        (b"\x30\x03\x0a\x01\x01", "bad_certificate_status_response"),  # malformedRequest
        (b"not der", "bad_certificate_status_response"),
    ):
        cfg = replace(server_config, ocsp_response=staple)
        _, _, cev, sev = handshake(client_config(test_pki, suites=rsa), cfg)
        assert first(cev, ev.Failed).description == alert
        assert first(sev, ev.Failed).by_peer


def test_expired_server_certificate(test_pki, server_config) -> None:
    import datetime

    from tlsmodel.reference.certs import TrustAnchors

    later = TrustAnchors(anchors(test_pki).roots, at=datetime.datetime(2099, 1, 1))
    cfg = ClientConfig(server_name="localhost", anchors=later)
    _, _, cev, _ = handshake(cfg, server_config)
    assert first(cev, ev.Failed).description == "certificate_expired"
