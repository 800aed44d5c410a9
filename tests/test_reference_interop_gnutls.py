"""The reference client and server against GnuTLS (``gnutls-serv`` / ``gnutls-cli``).

``gnutls-serv`` binds 0.0.0.0, so every run happens inside a private network namespace that
holds only loopback (``support.peers.gnutls_session``): the server, the client and nothing
else. The reference side runs as the ``tlsmodel server`` / ``client`` command
(``support.refpeers.cli_argv``), whose ``--trace-out`` and printed lines the tests read.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from support import peers
from support import pki as pki_mod
from support.refpeers import cli_argv, server_cli_args
from tlsmodel.reference.suites import CipherSuite, KeyExchangeKind, suite_by_name

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(
        shutil.which("gnutls-serv") is None or os.geteuid() != 0,
        reason="needs gnutls-bin and root (unshare --net)",
    ),
]

SUITES = [
    suite_by_name(name)
    for name in (
        "TLS_RSA_WITH_AES_128_CBC_SHA",
        "TLS_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    )
]
_KX = {"RSA": "RSA", "DHE_RSA": "DHE-RSA", "ECDHE_RSA": "ECDHE-RSA", "ECDHE_ECDSA": "ECDHE-ECDSA"}
_MAC = {None: "AEAD", "sha1": "SHA1", "sha256": "SHA256", "sha384": "SHA384"}


def priority(suite: CipherSuite) -> str:
    """The GnuTLS priority string allowing exactly ``suite``."""
    return peers.gnutls_priority(
        _KX[suite.kx.value], suite.bulk.name.replace("_", "-"), _MAC[suite.mac]
    )


def cert_of(suite: CipherSuite) -> str:
    return "ecdsa" if suite.kx is KeyExchangeKind.ECDHE_ECDSA else "rsa"


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> pki_mod.TestPKI:
    return pki_mod.make_pki(tmp_path_factory.mktemp("pki"))


def ref_client(test_pki, *extra: str) -> list[str]:
    return cli_argv(
        "client", f"127.0.0.1:{peers.GNUTLS_PORT}", "--ca", str(test_pki.ca),
        "--servername", "localhost", "--send", "hello gnutls\n", *extra,
    )  # fmt: skip


def ref_server(test_pki, workdir: Path, *extra: str) -> list[str]:
    trace = workdir / "server.jsonl"
    args = ["--trace-out", str(trace), "--timeout", "3", *extra]
    return cli_argv(*server_cli_args(test_pki, peers.GNUTLS_PORT, args))


def server_trace(workdir: Path) -> list[dict]:
    path = workdir / "server.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# --- reference client -> gnutls-serv ------------------------------------------------------


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.iana)
def test_client_to_gnutls(test_pki, tmp_path, suite) -> None:
    server = peers.gnutls_server_argv(test_pki, priority=priority(suite), cert=cert_of(suite))
    run = peers.gnutls_session(tmp_path, server, ref_client(test_pki))
    assert run.client_rc == 0, run.client_out + run.server_out
    assert f"handshake complete: {suite.iana} resumed=False ems=True" in run.client_out
    assert "hello gnutls" in run.client_out.split("received")[-1]  # the echo came back
    assert ">>> Alert level=warning description=close_notify" in run.client_out


@pytest.mark.parametrize(
    ("auth", "pair"), [("none", None), ("request", None), ("require", "client_ecdsa")]
)
def test_client_authenticates_to_gnutls(test_pki, tmp_path, auth, pair) -> None:
    extra = []
    if pair:
        keypair = getattr(test_pki, pair)
        extra = ["--cert", str(keypair.cert), "--key", str(keypair.key)]
    server = peers.gnutls_server_argv(test_pki, client_auth=auth)
    run = peers.gnutls_session(tmp_path, server, ref_client(test_pki, *extra))
    assert run.client_rc == 0, run.client_out + run.server_out
    sent_cert = ">>> Certificate empty=" + ("False" if pair else "True")
    assert (sent_cert in run.client_out) is (auth != "none")
    assert (">>> CertificateVerify" in run.client_out) is (pair is not None)


@pytest.mark.parametrize("mode", ["ticket", "id"])
def test_client_resumes_with_gnutls(test_pki, tmp_path, mode) -> None:
    server = peers.gnutls_server_argv(test_pki, no_ticket=mode == "id")
    run = peers.gnutls_session(tmp_path, server, ref_client(test_pki, "--resume", mode))
    assert run.client_rc == 0, run.client_out + run.server_out
    how = "ticket" if mode == "ticket" else "session id"
    assert f"resumed: yes ({how})" in run.client_out


def test_client_renegotiates_with_gnutls(test_pki, tmp_path) -> None:
    server = peers.gnutls_server_argv(test_pki)
    run = peers.gnutls_session(tmp_path, server, ref_client(test_pki, "--renegotiate"))
    assert run.client_rc == 0, run.client_out + run.server_out
    assert "renegotiated: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" in run.client_out


# --- gnutls-cli -> reference server -------------------------------------------------------


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.iana)
def test_gnutls_client_to_server(test_pki, tmp_path, suite) -> None:
    client = peers.gnutls_client_argv(test_pki, priority=priority(suite))
    run = peers.gnutls_session(
        tmp_path, ref_server(test_pki, tmp_path), client, client_input=b"hello reference\n"
    )
    assert run.client_rc == 0, run.client_out + run.server_out
    assert "Handshake was completed" in run.client_out
    assert f"[1] handshake complete: {suite.iana} resumed=False" in run.server_out
    assert "[1] <<< ApplicationData" in run.server_out
    messages = server_trace(tmp_path)[0]["messages"]
    assert messages[1]["cipher_suite"] == suite.iana
    assert messages[-1]["description"] == "close_notify"


@pytest.mark.parametrize("notickets", [False, True], ids=["ticket", "id"])
def test_gnutls_client_resumes_with_server(test_pki, tmp_path, notickets) -> None:
    client = peers.gnutls_client_argv(test_pki, resume=True, no_ticket=notickets)
    server = ref_server(test_pki, tmp_path, *(["--no-tickets"] if notickets else []))
    run = peers.gnutls_session(tmp_path, server, client)
    assert "*** This is a resumed session" in run.client_out, run.client_out + run.server_out
    assert "[2] handshake complete: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 resumed=True" in (
        run.server_out
    )
    first_extensions = server_trace(tmp_path)[0]["messages"][1]["extensions"]
    assert ("session_ticket" in first_extensions) is not notickets


def test_gnutls_client_rehandshake_with_server(test_pki, tmp_path) -> None:
    client = peers.gnutls_client_argv(test_pki, rehandshake=True)
    run = peers.gnutls_session(tmp_path, ref_server(test_pki, tmp_path), client)
    assert "ReHandshake was completed" in run.client_out, run.client_out + run.server_out
    hellos = [m for m in server_trace(tmp_path)[0]["messages"] if m["type"] == "ClientHello"]
    assert len(hellos) == 2


@pytest.mark.parametrize(("require", "pair"), [(False, None), (True, "client_rsa")])
def test_gnutls_client_authenticates_to_server(test_pki, tmp_path, require, pair) -> None:
    extra = ["--client-ca", str(test_pki.ca)] + (["--require-client-cert"] if require else [])
    client = peers.gnutls_client_argv(test_pki, cert=getattr(test_pki, pair) if pair else None)
    run = peers.gnutls_session(tmp_path, ref_server(test_pki, tmp_path, *extra), client)
    assert run.client_rc == 0, run.client_out + run.server_out
    peer = "client certificate" if pair else "no client certificate"
    assert f"resumed=False {peer}" in run.server_out


def test_client_gets_gnutls_stapled_ocsp(test_pki, tmp_path) -> None:
    server = peers.gnutls_server_argv(test_pki, ocsp=True)
    run = peers.gnutls_session(tmp_path, server, ref_client(test_pki))
    assert run.client_rc == 0, run.client_out + run.server_out
    assert "<<< CertificateStatus" in run.client_out
    assert "stapled OCSP response:" in run.client_out
    assert "status_request" in run.client_out.split("<<< ServerHello")[1].splitlines()[0]
