"""The reference endpoint against the model: every conforming handshake it performs is a trace
the oracle (``tlsmodel.oracle``) judges ``conforms``.

Two formalizations written apart must agree on what they both allow; a disagreement here is a
bug in one of them. (The other direction — each fault makes a trace the oracle calls a
deviation — is asserted in ``test_reference_faults.py``.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from support import pki as pki_mod
from support.refpeers import anchors, credential, drain, first, pump
from tlsmodel.model.trace import Trace
from tlsmodel.oracle.judge import judge
from tlsmodel.reference import events as ev
from tlsmodel.reference.client import ClientConnection
from tlsmodel.reference.config import ClientConfig, ServerConfig
from tlsmodel.reference.server import ServerConnection
from tlsmodel.reference.session import TicketKeys
from tlsmodel.reference.suites import SUITES, parse_suite_list

Hook = Callable[[ClientConnection, ServerConnection], None]


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> pki_mod.TestPKI:
    return pki_mod.make_pki(tmp_path_factory.mktemp("pki"))


def session_of(client_cfg: ClientConfig, server_cfg: ServerConfig):
    client, server = ClientConnection(client_cfg), ServerConnection(server_cfg)
    pump(client, server)
    drain(server)
    return first(drain(client), ev.HandshakeComplete).session


def conversation(client_cfg, server_cfg, session=None, after: Hook | None = None):
    """Handshake, optional extra step, data both ways, close_notify: both logs as traces."""
    client, server = ClientConnection(client_cfg, session), ServerConnection(server_cfg)
    pump(client, server)
    if after is not None:
        after(client, server)
        pump(client, server)
    client.send_application_data(b"request")
    pump(client, server)
    server.send_application_data(b"reply")
    pump(client, server)
    client.close()
    pump(client, server)
    return [[m.to_json() for m in c.log] for c in (client, server)]


def verdicts(traces) -> list[str]:
    return [judge(Trace(f"t{i}", t), "test").verdict for i, t in enumerate(traces)]


@pytest.fixture(scope="module")
def configs(test_pki):
    server = ServerConfig(
        credentials=(credential(test_pki.server_rsa), credential(test_pki.server_ecdsa))
    )
    client = ClientConfig(server_name="localhost", anchors=anchors(test_pki))
    return client, server


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.iana)
def test_full_handshakes_conform(configs, suite) -> None:
    client, server = configs
    assert verdicts(conversation(replace(client, suites=(suite,)), server)) == ["conforms"] * 2


def _renegotiate_client(client: ClientConnection, server: ServerConnection) -> None:
    client.renegotiate()


def _renegotiate_server(client: ClientConnection, server: ServerConnection) -> None:
    server.renegotiate()


SCENARIOS = ["auth-empty", "auth-required", "resume-id", "resume-ticket", "ticket-renewal",
             "ocsp", "no-ems", "client-renegotiation", "server-renegotiation",
             "renegotiation-declined"]  # fmt: skip


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_feature_handshakes_conform(test_pki, configs, scenario) -> None:
    client, server = configs
    session, after = None, None
    if scenario == "auth-empty":
        server = replace(server, client_anchors=anchors(test_pki))
    elif scenario == "auth-required":
        server = replace(server, client_anchors=anchors(test_pki), require_client_certificate=True)
        client = replace(client, credential=credential(test_pki.client_ecdsa))
    elif scenario == "resume-id":
        server = replace(server, ticket_keys=None)
        session = session_of(client, server)
    elif scenario == "resume-ticket":
        session = session_of(client, server)
    elif scenario == "ticket-renewal":
        keys = TicketKeys()
        server = replace(server, ticket_keys=keys)
        session = session_of(client, server)
        keys.rotate()
    elif scenario == "ocsp":
        server = replace(server, ocsp_response=test_pki.ocsp_rsa.read_bytes())
        client = replace(client, suites=parse_suite_list("ECDHE-RSA-AES128-GCM-SHA256"))
    elif scenario == "no-ems":
        client = replace(client, extended_master_secret=False)
    elif scenario == "client-renegotiation":
        after = _renegotiate_client
    elif scenario == "server-renegotiation":
        after = _renegotiate_server
    else:
        client, server = replace(client, renegotiation=False), replace(server, renegotiation=False)
        after = _renegotiate_server
    traces = conversation(client, server, session, after)
    assert verdicts(traces) == ["conforms"] * 2, traces[0]
