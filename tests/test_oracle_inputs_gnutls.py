"""Capture reader against GnuTLS: gnutls-serv and gnutls-cli in a private network namespace,
tshark inside it, each configuration read with and without the client's key log. Expected
sequences come from ``support.flows`` (written from the RFCs)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support import peers, pki
from support.flows import (
    ABBREVIATED,
    CLOSE,
    client_flight,
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
    pytest.mark.skipif(shutil.which("gnutls-serv") is None, reason="needs gnutls-bin"),
]


@dataclass
class GnuTLS:
    name: str
    server: dict[str, Any]
    client: dict[str, Any]
    expected: list[list[str]]
    without_keys: list[list[str]] | None = None
    racing: tuple[str, str] | None = None  # see flows.settled


def _kx(kx: str) -> dict[str, str]:
    return {"priority": peers.gnutls_priority(kx)}


GNUTLS = [
    GnuTLS("ecdhe_rsa", {}, {}, [full() + CLOSE]),
    GnuTLS("dhe_rsa", _kx("DHE-RSA"), _kx("DHE-RSA"), [full() + CLOSE]),
    GnuTLS("rsa", _kx("RSA"), _kx("RSA"), [full(ske=False) + CLOSE]),
    GnuTLS(
        "ecdhe_ecdsa", {**_kx("ECDHE-ECDSA"), "cert": "ecdsa"}, _kx("ECDHE-ECDSA"), [full() + CLOSE]
    ),
    GnuTLS(
        "auth_cert",
        {"client_auth": "require"},
        {"cert": "client_ecdsa"},
        [full(True, "cert", cr=True) + CLOSE],
    ),
    GnuTLS(
        "auth_requested_empty",
        {"client_auth": "request"},
        {},
        [full(True, "empty", cr=True) + CLOSE],
    ),
    GnuTLS(
        "auth_required_empty",  # GnuTLS answers the empty Certificate with decode_error
        {"client_auth": "require"},
        {},
        [["C:ClientHello", *hello_flight(cr=True), *client_flight("empty"), "S:Alert"]],
        racing=("S:Alert", "C:Certificate"),
    ),
    GnuTLS("resume_ticket", {}, {"resume": True}, [full() + CLOSE, ABBREVIATED + CLOSE]),
    GnuTLS(
        "resume_id",
        {"no_ticket": True},
        {"resume": True, "no_ticket": True},
        [full(False) + CLOSE, ABBREVIATED + CLOSE],
    ),
    GnuTLS(
        "renegotiation",
        {},
        {"rehandshake": True},
        [full() + renegotiation(True) + CLOSE],
        [full() + renegotiation(False) + CLOSE],
    ),
    GnuTLS("stapling", {"ocsp": True}, {"extra": ["--insecure"]}, [full(status=True) + CLOSE]),
]


@pytest.fixture(scope="module")
def gnutls_captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """One private-namespace run per configuration: (capture, client key log)."""
    work = tmp_path_factory.mktemp("gnutls")
    test_pki = pki.make_pki(work / "pki")
    out = {}
    for case in GNUTLS:
        sdir = work / case.name
        client = dict(case.client)
        if "cert" in client:
            client["cert"] = getattr(test_pki, client["cert"])
        run = peers.gnutls_session(
            sdir,
            peers.gnutls_server_argv(test_pki, **case.server),
            peers.gnutls_client_argv(test_pki, **client),
            capture=sdir / "c.pcapng",
            keylog=sdir / "client.keys",
        )
        assert run.client_rc is not None, run.log
        out[case.name] = (sdir / "c.pcapng", sdir / "client.keys")
    return out


@pytest.mark.parametrize("keys", [True, False], ids=["keylog", "nokeys"])
@pytest.mark.parametrize("case", GNUTLS, ids=[c.name for c in GNUTLS])
def test_gnutls_capture_sequences(
    case: GnuTLS, keys: bool, gnutls_captures: dict[str, tuple[Path, Path]]
) -> None:
    pcap, keylog = gnutls_captures[case.name]
    traces = list(load_traces(pcap, keylog=keylog if keys and keylog.exists() else None))
    assert all(hasattr(t, "messages") for t in traces), traces
    expected = case.expected if keys or case.without_keys is None else case.without_keys
    got = [seq(t) for t in traces]
    assert len(got) == len(expected), got
    assert all(settled(g, e, case.racing) for g, e in zip(got, expected, strict=True)), got
    assert all(t.extra["unsupported"] is None for t in traces)
    assert all(t.id.endswith("-127.0.0.1:4433") for t in traces)
    if case.name == "auth_required_empty":
        alert = traces[0].messages[-1]
        assert (alert["level"], alert["description"]) == ("fatal", "decode_error")
    if case.name.startswith("resume"):
        assert [_sh(t)["resumed"] for t in traces] == [False, True]
    # With the key log every message is read: tshark decrypts even the resumed sessions, for
    # which GnuTLS logs no secret, from the master secret of the session they resume.
    assert [t.extra["undecrypted"] == 0 for t in traces] == [keys] * len(traces)


@pytest.mark.parametrize("keys", [True, False], ids=["keylog", "nokeys"])
@pytest.mark.parametrize("case", GNUTLS, ids=[c.name for c in GNUTLS])
def test_gnutls_capture_verdicts(
    case: GnuTLS, keys: bool, gnutls_captures: dict[str, tuple[Path, Path]]
) -> None:
    """``tlsmodel oracle`` on the real capture: every GnuTLS connection conforms."""
    pcap, keylog = gnutls_captures[case.name]
    argv = [sys.executable, "-m", "tlsmodel", "oracle", str(pcap), "--json"]
    if keys and keylog.exists():
        argv += ["--keylog", str(keylog)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    verdicts = [json.loads(line)["verdict"] for line in result.stdout.splitlines()]
    assert verdicts == ["conforms"] * len(case.expected), result.stdout
