"""Deviant handshakes on the wire: a scripted deviant peer against the reference endpoint with
the matching fault switched on (so the broken handshake really goes on), recorded by tshark on
loopback, judged by ``tlsmodel oracle`` from the capture: each must deviate at the message that
breaks the RFC, with the other connections of the capture unaffected."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from support import peers
from support import pki as pki_mod
from support.refpeers import anchors, credential
from support.refscripted import ScriptedClient, ScriptedServer
from support.tcpwire import Wire
from tlsmodel.reference.client import ClientConnection
from tlsmodel.reference.codec import Certificate, OpaqueHandshake, ServerHelloDone, SignatureScheme
from tlsmodel.reference.config import ClientConfig, ServerConfig
from tlsmodel.reference.faults import Fault
from tlsmodel.reference.rsaparams import encode_rsa_server_key_exchange
from tlsmodel.reference.server import ServerConnection
from tlsmodel.reference.suites import suite_by_name

pytestmark = pytest.mark.network

ECDHE_ECDSA = suite_by_name("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")
ECDHE_RSA = suite_by_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
RSA = suite_by_name("TLS_RSA_WITH_AES_128_GCM_SHA256")


def skip_server_key_exchange(pki: pki_mod.TestPKI, wire: Callable) -> None:
    conn = wire(client_conn(pki, ECDHE_ECDSA, Fault.SKIP_SERVER_KEY_EXCHANGE), server=False)
    peer = ScriptedServer(credential(pki.server_ecdsa), ECDHE_ECDSA)
    peer.static_ecdh = True
    peer.read(conn)
    peer.server_hello().certificate().send(ServerHelloDone()).to(conn)
    finish_as_server(peer, conn)


def accept_rsa_server_key_exchange(pki: pki_mod.TestPKI, wire: Callable) -> None:
    conn = wire(client_conn(pki, RSA, Fault.ACCEPT_RSA_SERVER_KEY_EXCHANGE), server=False)
    cred = credential(pki.server_rsa)
    peer = ScriptedServer(cred, RSA)
    peer.read(conn)
    peer.server_hello().certificate()
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    randoms = peer.engine.client_random + peer.engine.server_random
    body = encode_rsa_server_key_exchange(
        weak.public_key(), cred.key, SignatureScheme.rsa_pss_rsae_sha256, randoms
    )
    peer.send(OpaqueHandshake(12, body), ServerHelloDone()).to(conn)
    peer.rsa_key = weak
    finish_as_server(peer, conn)


def early_ccs(pki: pki_mod.TestPKI, wire: Callable) -> None:
    conn = wire(server_conn(pki, Fault.EARLY_CCS), server=True)
    peer = ScriptedClient(ECDHE_RSA)
    peer.client_hello().to(conn)
    peer.read(conn)
    peer.engine.set_premaster_secret(b"")
    peer.ccs().finished().to(conn)
    peer.read(conn)


def skip_certificate_verify(pki: pki_mod.TestPKI, wire: Callable) -> None:
    conn = wire(
        server_conn(
            pki,
            Fault.SKIP_CERTIFICATE_VERIFY,
            client_anchors=anchors(pki),
            require_client_certificate=True,
        ),
        server=True,
    )
    peer = ScriptedClient(ECDHE_RSA)
    peer.client_hello().to(conn)
    peer.read(conn)
    peer.send(Certificate(credential(pki.client_rsa).chain_der))
    peer.key_exchange().ccs().finished().to(conn)
    peer.read(conn)


def finished_without_ccs(pki: pki_mod.TestPKI, wire: Callable) -> None:
    conn = wire(server_conn(pki, Fault.FINISHED_WITHOUT_CCS), server=True)
    peer = ScriptedClient(ECDHE_RSA)
    peer.client_hello().to(conn)
    peer.read(conn)
    peer.key_exchange().finished().to(conn)
    peer.read(conn)


def early_application_data(pki: pki_mod.TestPKI, wire: Callable) -> None:
    conn = wire(server_conn(pki, Fault.EARLY_APPLICATION_DATA), server=True)
    peer = ScriptedClient(ECDHE_RSA)
    peer.client_hello()
    peer.engine.send_application_data(b"GET /admin")
    peer.to(conn)
    peer.read(conn)


# scenario -> (index of the first illegal message in the capture, its sender and type)
SCENARIOS = {
    skip_server_key_exchange: (3, "server", "ServerHelloDone"),
    accept_rsa_server_key_exchange: (3, "server", "ServerKeyExchange"),
    early_ccs: (5, "client", "ChangeCipherSpec"),
    skip_certificate_verify: (8, "client", "ChangeCipherSpec"),
    finished_without_ccs: (6, "client", "Finished"),
    early_application_data: (1, "client", "ApplicationData"),
}


def client_conn(pki: pki_mod.TestPKI, suite, fault: Fault) -> ClientConnection:
    return ClientConnection(
        ClientConfig(
            server_name="localhost",
            anchors=anchors(pki),
            suites=(suite,),
            faults=frozenset({fault}),
        )
    )


def server_conn(pki: pki_mod.TestPKI, fault: Fault, **kw: object) -> ServerConnection:
    creds = (credential(pki.server_rsa), credential(pki.server_ecdsa))
    return ServerConnection(ServerConfig(credentials=creds, faults=frozenset({fault}), **kw))


def finish_as_server(peer: ScriptedServer, conn: Wire) -> None:
    peer.read(conn)
    peer.ccs().finished().to(conn)


@pytest.fixture(scope="module")
def deviant_capture(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Run every scenario on its own port inside one capture; the oracle's argv to judge it."""
    work = tmp_path_factory.mktemp("deviant")
    pki = pki_mod.make_pki(work / "pki")
    ports = peers.free_ports(len(SCENARIOS))
    pcap = work / "deviant.pcapng"
    wires: list[Wire] = []
    with peers.capture(ports, pcap, timeout=60):
        for scenario, port in zip(SCENARIOS, ports, strict=True):

            def wire(conn: object, *, server: bool, port: int = port) -> Wire:
                wires.append(Wire(conn, port, conn_is_server=server))
                return wires[-1]

            scenario(pki, wire)
        for w in wires:
            w.close()
    argv = [sys.executable, "-m", "tlsmodel", "oracle", str(pcap)]
    for port in ports:
        argv += ["--tls-port", str(port)]
    return argv


@pytest.fixture(scope="module")
def judged(deviant_capture: list[str]) -> dict[str, dict]:
    """The capture judged once: each scenario's JSON report."""
    argv = [*deviant_capture, "--json"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    by_port = {int(r["id"].rsplit(":", 1)[1]): r for r in reports}
    ports = [int(p) for p in argv[argv.index("--tls-port") + 1 :: 2]]
    return {s.__name__: by_port[p] for s, p in zip(SCENARIOS, ports, strict=True)}


@pytest.mark.parametrize("scenario", list(SCENARIOS), ids=lambda s: s.__name__)
def test_capture_deviates_at_the_broken_message(judged: dict[str, dict], scenario) -> None:
    at, sender, kind = SCENARIOS[scenario]
    report = judged[scenario.__name__]
    assert report["verdict"] == "deviates", report
    assert report["at"] == at, report
    assert (report["message"]["from"], report["message"]["type"]) == (sender, kind)
    assert [sender, kind] not in report["expected"]


def test_reports_name_the_connection_and_the_frame(judged: dict[str, dict]) -> None:
    for report in judged.values():
        client, server = report["id"].split("-")
        assert client.startswith("127.0.0.1:") and server.startswith("127.0.0.1:")
        assert report["source"].split(":")[0].endswith("deviant.pcapng")
        assert "frame" in report["source"]


def test_expected_failures_on_a_capture(
    deviant_capture: list[str], judged: dict[str, dict], tmp_path: Path
) -> None:
    """Known deviations (by connection id, or by kind) do not fail the run; JUnit skips them;
    one left off the list still fails it."""
    reports = list(judged.values())
    kinds = [
        f"{r['message']['from']} {r['message']['type']} in {'/'.join(r['states'])}" for r in reports
    ]
    known = tmp_path / "known.txt"
    known.write_text("# known bugs\n" + reports[0]["id"] + "\n" + "\n".join(kinds[1:]) + "\n")
    junit = tmp_path / "report.xml"
    argv = [*deviant_capture, "--expect-failures", str(known), "--junit", str(junit)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    heads = [line for line in result.stdout.splitlines() if line[0] != " "]
    assert len(heads) == len(reports), result.stdout
    assert all(re.search(r": deviates at #\d+ \(expected failure\)$", h) for h in heads), heads
    as_json = subprocess.run([*argv, "--json"], capture_output=True, text=True, timeout=120)
    assert as_json.returncode == 0, as_json.stderr
    flagged = [json.loads(line).get("expected_failure") for line in as_json.stdout.splitlines()]
    assert flagged == [True] * len(reports)
    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures")) == (str(len(reports)), "0")
    assert suite.get("skipped") == str(len(reports))
    known.write_text("\n".join(kinds[1:]) + "\n")
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert ET.parse(junit).getroot().get("failures") == "1"
