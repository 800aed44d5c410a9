"""``tlsmodel server`` / ``tlsmodel client`` (``tlsmodel.reference.cli``): flags, usage
errors, and the commands run as processes against OpenSSL with ``--trace-out``.

Usage errors are checked in-process (``register`` on a fresh parser): each must be one
``UsageError`` line, never a traceback. The network tests start real processes, each bounded
by a timeout and stopped by ``support.peers``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys

import pytest
from support import peers
from support import pki as pki_mod
from support.refpeers import cli_argv, server_cli_args
from tlsmodel.reference.cli import register, tls_options

from tlsmodel.errors import UsageError


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> pki_mod.TestPKI:
    return pki_mod.make_pki(tmp_path_factory.mktemp("pki"))


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="tlsmodel")
    register(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return int(args.func(args))


def test_list_faults_per_role(capsys) -> None:
    assert run("server", "--list-faults") == 0
    server_lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("early-ccs [server]") for line in server_lines)
    assert not any(line.startswith("skip-server-key-exchange") for line in server_lines)
    assert run("client", "--list-faults") == 0
    client_lines = capsys.readouterr().out.splitlines()
    assert any("CVE-2015-0204" in line for line in client_lines)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["server"], "needs --cert"),
        (["server", "--cert", "/nonexistent.pem", "--key", "/x"], "cannot read certificate"),
        (["server", "--cert", "{ca}", "--key", "{key}"], "does not match"),
        (["server", "--cert", "{cert}", "--key", "{cert}"], "not an unencrypted PEM"),
        (["server", "--cert", "{cert}", "--key", "{key}", "--suites", "TLS_NOPE"], "TLS_NOPE"),
        (["server", "--cert", "{cert}", "--key", "{key}", "--fault", "skip-server-key-exchange"],
         "applies to the client"),
        (["server", "--cert", "{cert}", "--key", "{key}", "--require-client-cert"],
         "needs --client-ca"),
        (["server", "--cert", "{cert}", "--key", "{key}", "--suites", ""], "empty cipher suite"),
        (["server", "--cert", "{cert}", "--key", "{key}", "--ocsp-response", "{ca}"],
         "not a successful DER OCSP"),
        (["server", "--cert", "{ecert}", "--key", "{ekey}", "--ocsp-response", "{ocsp}"],
         "for none of the --cert"),
        (["server", "--cert", "{cert}", "--key", "{key}", "--max-connections", "-1"],
         "--max-connections"),
        (["client"], "needs HOST:PORT"),
        (["client", "localhost:http"], "bad HOST:PORT"),
        (["client", "127.0.0.1:1", "--ca", "{cert}", "--cert", "{cert}"], "go together"),
        (["client", "127.0.0.1:1", "--ca", "{key}"], "no PEM certificate"),
        (["client", "127.0.0.1:1", "--fault", "bogus"], "unknown fault"),
    ],
)  # fmt: skip
def test_usage_errors(test_pki, argv, message) -> None:
    paths = {
        "ca": str(test_pki.ca),
        "cert": str(test_pki.server_rsa.cert),
        "key": str(test_pki.server_rsa.key),
        "ecert": str(test_pki.server_ecdsa.cert),
        "ekey": str(test_pki.server_ecdsa.key),
        "ocsp": str(test_pki.ocsp_rsa),
    }
    with pytest.raises(UsageError, match=message):
        run(*(a.format(**paths) for a in argv))


def test_switched_on_fault_is_announced(capsys) -> None:
    faulty = argparse.Namespace(suites=None, fault=["early-ccs"], timeout=1.0)
    assert tls_options(faulty, "server")["faults"]
    assert "fault early-ccs is ON" in capsys.readouterr().err
    plain = argparse.Namespace(suites=None, fault=[], timeout=1.0)
    assert not tls_options(plain, "server")["faults"]
    assert capsys.readouterr().err == ""


def test_usage_error_is_one_line_and_exit_2() -> None:
    proc = subprocess.run(
        cli_argv("client", "nowhere:port"), capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "bad HOST:PORT" in proc.stderr


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl")


@pytest.mark.network
@needs_openssl
def test_client_command_against_openssl_with_resume_and_trace(test_pki, tmp_path) -> None:
    trace = tmp_path / "client.jsonl"
    with peers.openssl_server(test_pki, tmp_path, naccept=2, extra=["-www"]) as srv:
        proc = subprocess.run(
            cli_argv(
                "client", f"127.0.0.1:{srv.port}", "--ca", str(test_pki.ca),
                "--servername", "localhost", "--resume", "ticket",
                "--suites", "ECDHE-RSA-AES128-GCM-SHA256", "--trace-out", str(trace),
            ),
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ">>> ClientHello" in proc.stdout and "<<< ServerHello" in proc.stdout
    assert "resumed: yes (ticket)" in proc.stdout
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["client-1", "client-2"]
    hello = lines[1]["messages"][1]
    assert hello["type"] == "ServerHello" and hello["resumed"] is True
    assert hello["cipher_suite"] == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"


@pytest.mark.network
@needs_openssl
def test_client_command_key_log_matches_openssl(test_pki, tmp_path) -> None:
    ours, theirs = tmp_path / "ours.keys", tmp_path / "theirs.keys"
    with peers.openssl_server(test_pki, tmp_path, keylog=theirs, extra=["-www"]) as srv:
        proc = subprocess.run(
            cli_argv("client", f"127.0.0.1:{srv.port}", "--ca", str(test_pki.ca),
                     "--servername", "localhost", "--keylog", str(ours), "--quiet"),
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        srv.wait(5)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = ours.read_text().strip()
    assert line.startswith("CLIENT_RANDOM ") and len(line.split()) == 3
    assert line.lower() in theirs.read_text().lower()


@pytest.mark.network
@needs_openssl
def test_client_command_fails_on_unverified_server(test_pki, tmp_path) -> None:
    other = pki_mod.make_pki(tmp_path / "other")
    with peers.openssl_server(test_pki, tmp_path, extra=["-www"]) as srv:
        proc = subprocess.run(
            cli_argv("client", f"127.0.0.1:{srv.port}", "--ca", str(other.ca)),
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    assert proc.returncode == 1
    assert "fatal alert sent: unknown_ca" in proc.stdout


@pytest.mark.network
@needs_openssl
def test_server_command_serves_openssl_clients(test_pki, tmp_path) -> None:
    port = peers.free_port()
    trace = tmp_path / "server.jsonl"
    argv = cli_argv(
        *server_cli_args(test_pki, port, ["--max-connections", "2", "--trace-out", str(trace)])
    )
    with peers.spawn(argv, tmp_path, "refserver", ready_text="listening on") as server:
        echo = peers.openssl_client(port, tmp_path, ca=test_pki.ca, steps=(b"ping\n", 0.3))
        http = peers.openssl_client(
            port, tmp_path, ca=test_pki.ca, steps=(b"GET / HTTP/1.0\r\n\r\n", 0.3)
        )
        assert server.wait(10) == 0, server.describe()
    assert "ping" in echo.stdout().split("---")[-1], echo.describe()
    assert "HTTP/1.0 200 OK" in http.stdout(), http.describe()
    out = server.stdout()
    assert "[1] <<< ClientHello" in out and "[2] >>> Finished" in out
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["server-1", "server-2"]
    assert lines[0]["messages"][-1] == {
        "from": "server",
        "type": "Alert",
        "level": "warning",
        "description": "close_notify",
    }


@pytest.mark.network
@pytest.mark.skipif(shutil.which("tshark") is None, reason="no tshark")
def test_captured_reference_handshakes_conform_to_the_oracle(test_pki, tmp_path) -> None:
    """Reference client and server on the wire, captured, decrypted with our key log and
    judged by ``tlsmodel oracle``: the full and the resumed handshake both conform."""
    port, keys, capture = peers.free_port(), tmp_path / "keys.log", tmp_path / "cap.pcapng"
    server_argv = cli_argv(*server_cli_args(test_pki, port, ["--max-connections", "2"]))
    with (
        peers.capture(port, capture),
        peers.spawn(server_argv, tmp_path, "refserver", ready_text="listening on") as server,
    ):
        proc = subprocess.run(
            cli_argv("client", f"127.0.0.1:{port}", "--ca", str(test_pki.ca), "--servername",
                     "localhost", "--keylog", str(keys), "--resume", "--quiet"),
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        server.wait(5)
    assert proc.returncode == 0 and "resumed: yes (ticket)" in proc.stdout, proc.stdout
    oracle = subprocess.run(
        [sys.executable, "-m", "tlsmodel", "oracle", "--keylog", str(keys),
         "--tls-port", str(port), str(capture)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert oracle.returncode == 0, oracle.stdout + oracle.stderr
    verdicts = [line.rsplit(": ", 1)[1] for line in oracle.stdout.splitlines()]
    assert verdicts == ["conforms", "conforms"], oracle.stdout + oracle.stderr


@pytest.mark.network
@needs_openssl
@pytest.mark.parametrize(("sig", "rc"), [(signal.SIGINT, 130), (signal.SIGTERM, 0)])
def test_stopped_server_closes_open_connections_with_close_notify(
    test_pki, tmp_path, sig, rc
) -> None:
    """Ctrl-C / SIGTERM while a client is connected: the server still sends close_notify on
    that connection and writes its trace line, then exits (130 after Ctrl-C, 0 on SIGTERM)."""
    port = peers.free_port()
    trace = tmp_path / "server.jsonl"
    # The installed front (``python -m tlsmodel``): it turns Ctrl-C into exit 130.
    argv = [sys.executable, "-m", "tlsmodel"]
    argv += server_cli_args(test_pki, port, ["--trace-out", str(trace)])
    with (
        peers.spawn(argv, tmp_path, "refserver", ready_text="listening on") as server,
        peers.spawn(
            peers.openssl_client_argv(port, ca=test_pki.ca), tmp_path, "s_client",
            ready_text=peers.HANDSHAKE_DONE,
        ) as client,
    ):  # fmt: skip
        assert server.wait_for("handshake complete", 10), server.describe()
        server.proc.send_signal(sig)
        assert server.wait(10) == rc, server.describe()
        assert client.wait(10) is not None, client.describe()
    assert "unexpected eof" not in client.stdout() + client.stderr(), client.describe()
    [line] = [json.loads(text) for text in trace.read_text().splitlines()]
    alerts = [message for message in line["messages"] if message["type"] == "Alert"]
    assert alerts[:1] == [
        {"from": "server", "type": "Alert", "level": "warning", "description": "close_notify"}
    ], line


@pytest.mark.network
@needs_openssl
def test_server_command_renegotiates_and_keeps_serving(test_pki, tmp_path) -> None:
    """``--renegotiate``: HelloRequest after the first answer; s_client renegotiates and its
    next line is still echoed."""
    port = peers.free_port()
    argv = cli_argv(*server_cli_args(test_pki, port, ["--max-connections", "1", "--renegotiate"]))
    with peers.spawn(argv, tmp_path, "refserver", ready_text="listening on") as server:
        client = peers.openssl_client(
            port, tmp_path, ca=test_pki.ca, steps=(b"before\n", 0.6, b"after\n", 0.3)
        )
        assert server.wait(10) == 0, server.describe()
    out = server.stdout()
    assert "[1] >>> HelloRequest" in out and "[1] renegotiated: " in out, server.describe()
    assert "after" in client.stdout().split("---")[-1], client.describe()
