"""The reference endpoint in tests: configs from the test PKI, in-memory pairs, processes.

Why here: the connection tests, the fault tests, the interop tests and the benchmark all need
the same three things — ``Credential``/``TrustAnchors`` built from ``pki.TestPKI`` files, a
loop that moves bytes between two sans-IO connections until both are quiet, and the
``tlsmodel server``/``client`` subcommands run as processes (before the lead wires them into
``tlsmodel``'s CLI they are run through ``python -c`` on ``tlsmodel.reference.cli.register``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from tlsmodel.reference import events as ev
from tlsmodel.reference.certs import TrustAnchors
from tlsmodel.reference.config import Credential
from tlsmodel.reference.connection import Connection

from .pki import KeyPair, TestPKI

# Runs the two subcommands exactly as ``tlsmodel server|client`` would, without the wiring.
_CLI = (
    "import argparse, sys\n"
    "from tlsmodel.errors import UsageError\n"
    "from tlsmodel.reference.cli import register\n"
    "p = argparse.ArgumentParser(prog='tlsmodel'); register(p.add_subparsers())\n"
    "a = p.parse_args(sys.argv[1:])\n"
    "try:\n    sys.exit(a.func(a))\n"
    "except UsageError as e:\n    print('tlsmodel:', e, file=sys.stderr); sys.exit(2)\n"
)


def cli_argv(*args: str) -> list[str]:
    """argv running ``tlsmodel <args>`` for the reference subcommands."""
    return [sys.executable, "-u", "-c", _CLI, *args]


def credential(pair: KeyPair) -> Credential:
    """A single-certificate credential from a PKI key pair."""
    cert = x509.load_pem_x509_certificate(pair.cert.read_bytes())
    key = load_pem_private_key(pair.key.read_bytes(), password=None)
    return Credential((cert,), key)  # type: ignore[arg-type]


def anchors(pki: TestPKI | Path) -> TrustAnchors:
    """Trust the test CA (or the CA file given)."""
    path = pki.ca if isinstance(pki, TestPKI) else pki
    return TrustAnchors((x509.load_pem_x509_certificate(path.read_bytes()),))


def pump(a: Connection, b: Connection, limit: int = 100) -> None:
    """Move bytes both ways until neither side has anything to send."""
    for _ in range(limit):
        out_a, out_b = a.data_to_send(), b.data_to_send()
        if not out_a and not out_b:
            return
        if out_a:
            b.receive_data(out_a)
        if out_b:
            a.receive_data(out_b)
    raise AssertionError("connections kept talking")


def drain(connection: Connection) -> list[ev.Event]:
    """All queued events."""
    events = []
    while (event := connection.next_event()) is not None:
        events.append(event)
    return events


def types(connection: Connection, sender: str | None = None) -> list[str]:
    """The message types of the connection's log (optionally of one sender)."""
    return [m.type for m in connection.log if sender is None or m.sender == sender]


def server_cli_args(pki: TestPKI, port: int, extra: Sequence[str] = ()) -> list[str]:
    """``server`` arguments serving both the RSA and the ECDSA certificate on ``port``."""
    return [
        "server",
        "--cert", str(pki.server_rsa.cert), "--key", str(pki.server_rsa.key),
        "--cert", str(pki.server_ecdsa.cert), "--key", str(pki.server_ecdsa.key),
        "--port", str(port), *extra,
    ]  # fmt: skip


def first(events: list[ev.Event], kind: type) -> Any:
    """The first event of ``kind`` (AssertionError listing the events if there is none)."""
    for event in events:
        if isinstance(event, kind):
            return event
    raise AssertionError(f"no {kind.__name__} in {events}")
