"""Capture readers against OpenSSL: tshark on loopback around s_server/s_client handshakes.

Each configuration OpenSSL supports is run once; the capture is read with and without the key
log, and each client's ``-msg`` and each server's ``-trace`` output are read too. The expected
message sequences (``support.flows``) are written from RFC 5246 §7.3 (Figures 1 and 2), RFC 5077
§3 (tickets), RFC 6066 §8 (CertificateStatus) and RFC 5246 §7.4.1 (renegotiation), not copied
from the readers' output.

All servers share one tshark capture (filter on all their ports), so the module costs one
tshark start-up, not one per configuration. GnuTLS is in test_oracle_inputs_gnutls.py.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from support import peers, pki
from support.flows import (
    ABBREVIATED,
    CLOSE,
    U,
    client_flight,
    first,
    full,
    hello_flight,
    renegotiation,
    seq,
    settled,
)
from support.flows import server_hello as _sh
from tlsmodel.oracle.inputs import load_traces

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tshark"),
]


@dataclass
class Scenario:
    name: str
    server: dict[str, Any]
    clients: list[dict[str, Any]]
    with_keys: list[list[str]]  # expected sequence of each connection, with the key log
    without_keys: list[list[str]] | None = None  # same as with_keys if None
    server_steps: tuple[peers.Step, ...] = ()
    unsupported: str | None = None
    racing: tuple[str, str] | None = None  # see flows.settled
    port: int = 0
    logs: list[Path] = field(default_factory=list)  # each client's -msg output
    server_log: Path | None = None  # the server's -trace output


ECDHE = "ECDHE-RSA-AES128-GCM-SHA256"
NT = {"no_ticket": True}
OPENSSL = [
    Scenario("rsa", {"cipher": "AES128-GCM-SHA256", **NT}, [{}], [full(False, ske=False) + CLOSE]),
    Scenario(
        "dhe",
        {"cipher": "DHE-RSA-AES128-GCM-SHA256", "dhparams": True, **NT},
        [{}],
        [full(False) + CLOSE],
    ),
    Scenario("ecdhe_rsa_ticket", {"cipher": ECDHE}, [{}], [full(True) + CLOSE]),
    Scenario(
        "ecdhe_ecdsa",
        {"cipher": "ECDHE-ECDSA-AES128-GCM-SHA256", "cert": "ecdsa", **NT},
        [{}],
        [full(False) + CLOSE],
    ),
    Scenario(
        "auth_cert",
        {"client_auth": "require", **NT},
        [{"cert": "client_rsa"}],
        [full(False, "cert", cr=True) + CLOSE],
    ),
    Scenario(
        "auth_requested_empty",
        {"client_auth": "request", **NT},
        [{}],
        [full(False, "empty", cr=True) + CLOSE],
    ),
    Scenario(
        "auth_required_empty",
        {"client_auth": "require", **NT},
        [{}],
        [["C:ClientHello", *hello_flight(cr=True), *client_flight("empty"), "S:Alert"]],
        racing=("S:Alert", "C:Certificate"),
    ),
    Scenario(
        "resume_ticket",
        {"naccept": 2},
        [{"sess_out": "s"}, {"sess_in": "s"}],
        [full(True) + CLOSE, ABBREVIATED + CLOSE],
    ),
    Scenario(
        "resume_id",
        {"naccept": 2, **NT},
        [{"sess_out": "s"}, {"sess_in": "s"}],
        [full(False) + CLOSE, ABBREVIATED + CLOSE],
    ),
    Scenario(
        "stapling", {"status_file": "ocsp"}, [{"status": True}], [full(True, status=True) + CLOSE]
    ),
    Scenario(
        "renegotiation",
        {"extra": ["-client_renegotiation"]},
        [{"steps": (peers.HANDSHAKE_DONE, b"R\n", 1.0)}],
        [full(True) + renegotiation(True) + CLOSE],
        [full(True) + renegotiation(False) + CLOSE],
    ),
    Scenario(
        "renegotiation_refused",
        NT,
        [{"steps": (peers.HANDSHAKE_DONE, b"R\n", 1.0)}],
        [full(False) + ["C:ClientHello", "S:Alert", "C:Alert"]],
        [full(False) + [f"C:{U}", "S:Alert", "C:Alert"]],
    ),
    Scenario(
        "hello_request",
        {},
        [{"steps": (peers.HANDSHAKE_DONE, 2.0)}],
        [full(True) + ["S:HelloRequest", *ABBREVIATED, *CLOSE]],
        [full(True) + [f"S:{U}", f"C:{U}", f"S:{U}", *ABBREVIATED[2:], *CLOSE]],
        server_steps=(peers.SERVER_HANDSHAKE_DONE, b"r\n"),
    ),
    Scenario(
        "application_data",
        {"extra": ["-www"]},
        [{"steps": (peers.HANDSHAKE_DONE, b"GET / HTTP/1.0\r\n\r\n", 1.0)}],
        [full(True) + ["C:ApplicationData", "S:ApplicationData", "S:Alert", "C:Alert"]],
    ),
    Scenario(
        "unknown_ca",
        NT,
        [{"ca": None, "extra": ["-verify_return_error"]}],
        [["C:ClientHello", *hello_flight(), "C:Alert"]],
        racing=("C:Alert", "S:Certificate"),
    ),
    Scenario(
        "tls13", {"protocol": "-tls1_3"}, [{"protocol": "-tls1_3"}], [], unsupported="TLS 1.3"
    ),
    Scenario(
        "tls11",
        {"protocol": "-tls1_1", "cipher": "DEFAULT@SECLEVEL=0"},
        [{"protocol": "-tls1_1", "cipher": "DEFAULT@SECLEVEL=0"}],
        [],
        unsupported="TLS 1.1",
    ),
]


def _resolve(options: dict[str, Any], test_pki: pki.TestPKI, work: Path) -> dict[str, Any]:
    out = dict(options)
    for key in ("sess_out", "sess_in"):
        if key in out:
            out[key] = work / out[key]
    if "cert" in out and isinstance(out["cert"], str) and out["cert"].startswith("client"):
        out["cert"] = getattr(test_pki, out["cert"])
    if out.get("status_file") == "ocsp":
        out["status_file"] = test_pki.ocsp_rsa
    return out


@dataclass
class Captured:
    pcap: Path
    keylog: Path
    by_port: dict[int, Scenario]
    server_cert_der: bytes


@pytest.fixture(scope="module")
def openssl_capture(tmp_path_factory: pytest.TempPathFactory) -> Captured:
    """Run every OpenSSL scenario under one tshark capture; collect key logs and -msg logs."""
    work = tmp_path_factory.mktemp("openssl")
    test_pki = pki.make_pki(work / "pki")
    for scenario, port in zip(OPENSSL, peers.free_ports(len(OPENSSL)), strict=True):
        scenario.port = port
    keylogs: list[Path] = []
    pcap = work / "all.pcapng"
    with peers.capture([s.port for s in OPENSSL], pcap, timeout=120):
        for scenario in OPENSSL:
            sdir = work / scenario.name
            keylogs.append(sdir / "server.keys")
            server = _resolve(scenario.server, test_pki, sdir)
            server.setdefault("naccept", 1)
            with peers.openssl_server(
                test_pki, sdir, port=scenario.port, keylog=keylogs[-1], trace=True, **server
            ) as srv:
                for index, client in enumerate(scenario.clients):
                    keylogs.append(sdir / f"client{index}.keys")
                    options = {"ca": test_pki.ca, **_resolve(client, test_pki, sdir)}
                    run = functools.partial(
                        peers.openssl_client,
                        scenario.port,
                        sdir,
                        name=f"client{index}",
                        keylog=keylogs[-1],
                        msg=True,
                        **options,
                    )
                    runner = threading.Thread(target=run)
                    runner.start()
                    srv.play(scenario.server_steps)
                    runner.join(30)
                    scenario.logs.append(sdir / f"client{index}.out")
                srv.wait(5)
            scenario.server_log = srv.stdout_path
    keylog = work / "all.keys"
    keylog.write_text("".join(p.read_text() for p in keylogs if p.exists()))
    der = x509.load_pem_x509_certificate(test_pki.server_rsa.cert.read_bytes()).public_bytes(
        serialization.Encoding.DER
    )
    return Captured(pcap, keylog, {s.port: s for s in OPENSSL}, der)


def _by_scenario(captured: Captured, keys: bool) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for trace in load_traces(captured.pcap, keylog=captured.keylog if keys else None):
        assert not hasattr(trace, "reason"), str(trace)
        port = int(trace.id.rsplit(":", 1)[1].split("#")[0])
        found.setdefault(captured.by_port[port].name, []).append(trace)
    return found


@pytest.fixture(scope="module")
def openssl_traces(openssl_capture: Captured) -> dict[bool, dict[str, list[Any]]]:
    return {keys: _by_scenario(openssl_capture, keys) for keys in (True, False)}


@pytest.mark.parametrize("keys", [True, False], ids=["keylog", "nokeys"])
@pytest.mark.parametrize("scenario", OPENSSL, ids=[s.name for s in OPENSSL])
def test_openssl_capture_sequences(
    scenario: Scenario, keys: bool, openssl_traces: dict[bool, dict[str, list[Any]]]
) -> None:
    traces = openssl_traces[keys][scenario.name]
    if scenario.unsupported:
        assert [t.extra["unsupported"] for t in traces] == [scenario.unsupported]
        return
    expected = (
        scenario.with_keys if keys or scenario.without_keys is None else scenario.without_keys
    )
    got = [seq(t) for t in traces]
    assert len(got) == len(expected), got
    assert all(settled(g, e, scenario.racing) for g, e in zip(got, expected, strict=True)), got
    assert all(t.extra["unsupported"] is None for t in traces)
    if not keys and scenario.without_keys is not None:
        assert any("unknown-encrypted" in n for t in traces for n in t.extra["notes"])


def test_openssl_server_hello_attributes(openssl_traces: dict[bool, dict[str, list[Any]]]) -> None:
    for keys in (True, False):
        got = openssl_traces[keys]
        rsa = _sh(got["rsa"][0])
        assert rsa["cipher_suite"] == "TLS_RSA_WITH_AES_128_GCM_SHA256"
        assert rsa["resumed"] is False
        assert "session_ticket" not in rsa["extensions"]
        assert {"renegotiation_info", "extended_master_secret"} <= set(rsa["extensions"])
        assert _sh(got["dhe"][0])["cipher_suite"] == "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"
        ecdsa = _sh(got["ecdhe_ecdsa"][0])["cipher_suite"]
        assert ecdsa == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        ticket = _sh(got["ecdhe_rsa_ticket"][0])
        assert ticket["cipher_suite"] == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        assert "session_ticket" in ticket["extensions"]
        assert "status_request" in _sh(got["stapling"][0])["extensions"]
        for name in ("resume_ticket", "resume_id"):
            full_hs, resumed = got[name]
            assert _sh(full_hs)["resumed"] is False
            assert _sh(resumed)["resumed"] is True
        if keys:  # the renegotiation after HelloRequest resumes the session (CCS follows)
            assert _sh(got["hello_request"][0], 1)["resumed"] is True


def test_openssl_certificates_and_alerts(openssl_traces: dict[bool, dict[str, list[Any]]]) -> None:
    for keys in (True, False):
        got = openssl_traces[keys]
        assert first(got["auth_cert"][0], "C:Certificate")["empty"] is False
        assert first(got["auth_requested_empty"][0], "C:Certificate")["empty"] is True
        assert first(got["auth_required_empty"][0], "C:Certificate")["empty"] is True
        assert first(got["rsa"][0], "S:Certificate")["empty"] is False
        # Alerts sent before a ChangeCipherSpec are plaintext: readable without keys too.
        refused = first(got["auth_required_empty"][0], "S:Alert")
        assert (refused["level"], refused["description"]) == ("fatal", "handshake_failure")
        unknown_ca = first(got["unknown_ca"][0], "C:Alert")
        assert (unknown_ca["level"], unknown_ca["description"]) == ("fatal", "unknown_ca")
        closing = first(got["rsa"][0], "C:Alert")
        no_reneg = first(got["renegotiation_refused"][0], "S:Alert")
        if keys:
            assert (closing["level"], closing["description"]) == ("warning", "close_notify")
            assert (no_reneg["level"], no_reneg["description"]) == ("warning", "no_renegotiation")
        else:  # encrypted alerts: level and description unknown, never guessed
            assert "level" not in closing and "description" not in closing
            assert "level" not in no_reneg
            assert got["rsa"][0].extra["undecrypted"] == 4  # two Finished, two alerts


def test_openssl_msg_logs_match_capture(
    openssl_capture: Captured, openssl_traces: dict[bool, dict[str, list[Any]]]
) -> None:
    """The client's own -msg log tells the same story as the decrypted capture; it may miss
    the server's last alert, which arrives after the client stopped reading."""
    compared = 0
    for scenario in OPENSSL:
        if scenario.unsupported or scenario.racing:  # the endpoint's view differs, see below
            continue
        captured = openssl_traces[True][scenario.name]
        for log, trace in zip(scenario.logs, captured, strict=True):
            (from_log,) = list(load_traces(log))
            assert from_log.id == f"{log.name}:{from_log.extra['locations'][0].split()[1]}"
            n = len(from_log.messages)
            assert n >= len(trace.messages) - 1, scenario.name
            assert from_log.messages == trace.messages[:n], scenario.name
            compared += 1
    assert compared >= 15


def test_openssl_trace_logs_match_capture(
    openssl_traces: dict[bool, dict[str, list[Any]]],
) -> None:
    """Each server's -trace output (all its connections) against the decrypted capture. The
    server that rejects the empty Certificate stops reading there: the client's remaining
    flight, on the wire, never reaches its log."""
    for scenario in OPENSSL:
        assert scenario.server_log is not None
        from_log = list(load_traces(scenario.server_log))
        assert all(hasattr(t, "messages") for t in from_log), scenario.name
        if scenario.unsupported:  # the TLS 1.3 ServerHello's supported_versions, TLS 1.1's
            assert [t.extra["unsupported"] for t in from_log] == [scenario.unsupported]
            continue
        if scenario.name == "auth_required_empty":
            (trace,) = from_log
            assert seq(trace) == [
                "C:ClientHello",
                *hello_flight(cr=True),
                "C:Certificate",
                "S:Alert",
            ]
            continue
        if scenario.racing:  # the server's view has one order, the wire may have the other
            assert [
                settled(seq(t), e, scenario.racing)
                for t, e in zip(from_log, scenario.with_keys, strict=True)
            ] == [True]
            continue
        captured = openssl_traces[True][scenario.name]
        assert [t.messages for t in from_log] == [t.messages for t in captured], scenario.name


def test_openssl_msg_log_of_an_aborting_client(openssl_capture: Captured) -> None:
    """A log is the endpoint's view: the client stops reading at the Certificate it rejects, so
    the ServerKeyExchange and ServerHelloDone on the wire never appear in its log."""
    (scenario,) = [s for s in OPENSSL if s.name == "unknown_ca"]
    (trace,) = list(load_traces(scenario.logs[0], fmt="openssl-msg"))
    assert seq(trace) == ["C:ClientHello", "S:ServerHello", "S:Certificate", "C:Alert"]
    assert trace.messages[-1] == {
        "from": "client",
        "type": "Alert",
        "level": "fatal",
        "description": "unknown_ca",
    }


def _cut_capture(captured: Captured, tmp_path: Path) -> Path:
    """The capture cut inside a packet for sure: in the middle of a server certificate on the
    wire, the one nearest the middle of the file (found as bytes; the file is never parsed)."""
    data = captured.pcap.read_bytes()
    der = captured.server_cert_der
    offsets, at = [], data.find(der)
    while at != -1:
        offsets.append(at)
        at = data.find(der, at + 1)
    middle = min(offsets, key=lambda o: abs(o - len(data) // 2)) + len(der) // 2
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(data[:middle])
    return cut


def test_truncated_capture_keeps_earlier_connections(
    openssl_capture: Captured, tmp_path: Path
) -> None:
    cut = _cut_capture(openssl_capture, tmp_path)
    items = list(load_traces(cut))
    traces, errors = items[:-1], items[-1]
    assert hasattr(errors, "reason") and "cut short" in errors.reason, errors
    assert errors.where is not None and errors.where.startswith("frame ")
    assert str(errors).startswith(f"{cut}:frame ")
    assert len(traces) >= 5 and all(hasattr(t, "messages") for t in traces)
    frame = int(errors.where.split()[1])
    assert all(int(t.extra["locations"][-1].split()[1]) < frame for t in traces)


def _oracle(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "tlsmodel", "oracle", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("keys", [True, False], ids=["keylog", "nokeys"])
def test_openssl_capture_verdicts(openssl_capture: Captured, keys: bool, tmp_path: Path) -> None:
    """``tlsmodel oracle`` on the real capture: every OpenSSL connection conforms (TLS 1.3 and
    1.1 are unsupported), with and without the key log; unsupported fails only ``--strict``."""
    keylog = ["--keylog", str(openssl_capture.keylog)] if keys else []
    junit = tmp_path / "report.xml"
    result = _oracle(str(openssl_capture.pcap), "--json", "--junit", str(junit), *keylog)
    assert result.returncode == 0, result.stdout + result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    verdicts: dict[str, list[str]] = {}
    for report in reports:
        port = int(report["id"].rsplit(":", 1)[1].split("#")[0])
        verdicts.setdefault(openssl_capture.by_port[port].name, []).append(report["verdict"])
    expected = {
        s.name: ["unsupported"] if s.unsupported else ["conforms"] * len(s.clients) for s in OPENSSL
    }
    assert verdicts == expected, result.stdout
    if not keys:  # the verdict says what it had to read by position
        (reneg,) = [r for r in reports if r["id"].endswith(_port("renegotiation"))]
        assert any("unknown-encrypted" in note for note in reneg["notes"]), reneg
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == str(len(reports)) and suite.get("failures") == "0"
    assert suite.get("skipped") == "2"  # the two unsupported connections
    strict = _oracle(str(openssl_capture.pcap), "--strict", "--junit", str(junit), *keylog)
    assert strict.returncode == 1, strict.stderr
    assert ET.parse(junit).getroot().get("failures") == "2"
    assert [line.endswith(": unsupported") for line in strict.stdout.splitlines()].count(True) == 2


def _port(name: str) -> str:
    (scenario,) = [s for s in OPENSSL if s.name == name]
    return f":{scenario.port}"


def test_truncated_capture_through_the_cli(openssl_capture: Captured, tmp_path: Path) -> None:
    """Exit 2, one error line naming the file and the frame, after the verdicts of the
    connections read before it (all of which conform)."""
    cut = _cut_capture(openssl_capture, tmp_path)
    result = _oracle(str(cut), "--keylog", str(openssl_capture.keylog))
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("tlsmodel: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert re.match(rf"tlsmodel: {re.escape(str(cut))}: frame \d+: .*cut short", errors[0])
    verdicts = [
        line.split(": ", 1)[1].split()[0] for line in result.stdout.splitlines() if line[0] != " "
    ]
    assert len(verdicts) >= 5, result.stdout
    # the connection the cut falls into may stop early: incomplete then, never a deviation
    assert set(verdicts[:-1]) == {"conforms"}, result.stdout
    assert verdicts[-1] in ("conforms", "incomplete"), result.stdout


def test_openssl_logs_through_the_cli(openssl_capture: Captured) -> None:
    """Every client's -msg log and every server's -trace log, judged by ``tlsmodel oracle``:
    each connection conforms (the TLS 1.3 and 1.1 ones are unsupported)."""
    logs = [p for s in OPENSSL for p in (*s.logs, s.server_log) if p is not None]
    result = _oracle("--json", *map(str, logs))
    assert result.returncode == 0, result.stdout + result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    unsupported = sum(1 for s in OPENSSL if s.unsupported)
    connections = sum(len(s.clients) for s in OPENSSL)
    assert len(reports) == 2 * connections
    verdicts = [r["verdict"] for r in reports]
    assert verdicts.count("unsupported") == 2 * unsupported, result.stdout
    assert verdicts.count("conforms") == 2 * (connections - unsupported), result.stdout
