"""The reference endpoint in tests: configs from the test PKI, in-memory pairs, processes.

Why here: the connection tests, the fault tests, the interop tests and the benchmark all need
the same three things — ``Credential``/``TrustAnchors`` built from ``pki.TestPKI`` files, a
loop that moves bytes between two sans-IO connections until both are quiet, and the
``tlsmodel server``/``client`` subcommands run as processes (before the lead wires them into
``tlsmodel``'s CLI they are run through ``python -c`` on ``tlsmodel.reference.cli.register``).
"""

from __future__ import annotations

import functools
import socket
import sys
import threading
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


@functools.cache
def credential(pair: KeyPair) -> Credential:
    """A single-certificate credential from a PKI key pair (cached: loading an RSA key
    checks it, which costs tens of milliseconds)."""
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


class ReferenceServer:
    """The reference server on 127.0.0.1 in a thread, recording every connection it served.

    Used as a context manager: the listener and thread stop on exit, whatever happened.
    Each connection answers data like ``tlsmodel server`` (``endpoints.reply_for``); with
    ``renegotiate`` it sends a HelloRequest after answering the first request.
    """

    def __init__(self, config: Any, *, renegotiate: bool = False, timeout: float = 10.0) -> None:
        self.config, self.renegotiate, self.timeout = config, renegotiate, timeout
        self.served: list[tuple[Any, list[ev.Event]]] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._listener.settimeout(0.05)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ReferenceServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        # close() alone does not wake a thread blocked in accept(); the timeout loop does.
        self._stopping.set()
        self._thread.join(self.timeout + 5)
        self._listener.close()

    def _run(self) -> None:
        from tlsmodel.reference.endpoints import reply_for
        from tlsmodel.reference.server import ServerConnection
        from tlsmodel.reference.sockets import TLSFailure, TLSSocket

        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            connection = ServerConnection(self.config)
            events: list[ev.Event] = []
            self.served.append((connection, events))
            tls = TLSSocket(sock, connection, self.timeout, on_event=events.append)
            asked = False
            try:
                while not connection.closed:
                    event = tls.next_event()
                    if isinstance(event, ev.ApplicationData) and not connection.closed:
                        answer, close = reply_for(event.data)
                        tls.send(answer)
                        if close:
                            break
                        if self.renegotiate and not asked:
                            # After the answer, as ``tlsmodel server`` does: OpenSSL 3.0's
                            # s_client stalls when data follows a HelloRequest.
                            asked = True
                            connection.renegotiate()
                            tls.flush()
            except TLSFailure:
                pass
            finally:
                tls.close()


def run_client(
    config: Any,
    port: int,
    send: bytes = b"GET / HTTP/1.0\r\n\r\n",
    *,
    session: Any = None,
    renegotiate: bool = False,
    timeout: float = 10.0,
) -> tuple[Any, list[ev.Event], bytes]:
    """One reference client connection to 127.0.0.1:port: handshake, [renegotiate], send,
    read until the peer closes or goes quiet; (connection, events, bytes received)."""
    from tlsmodel.reference.client import ClientConnection
    from tlsmodel.reference.sockets import TLSFailure, TLSSocket

    connection = ClientConnection(config, session)
    events: list[ev.Event] = []
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    tls = TLSSocket(sock, connection, timeout, on_event=events.append)
    received = b""
    try:
        tls.handshake()
        if renegotiate:
            connection.renegotiate()
            tls.flush()
            tls.wait_for(ev.HandshakeComplete | ev.RenegotiationDeclined)  # type: ignore[arg-type]
        tls.send(send)
        received = tls.receive()
        sock.settimeout(0.5)
        while True:
            event = tls.next_event()
            if isinstance(event, ev.ApplicationData):
                received += event.data
            elif isinstance(event, ev.PeerClosed | ev.Failed):
                break
    except TLSFailure:
        pass
    finally:
        tls.close()
    return connection, events, received
