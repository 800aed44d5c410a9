"""The loops behind ``tlsmodel server`` and ``tlsmodel client``: sockets, printing, traces.

Why separate from ``cli.py``: argument handling and the I/O loops are different concerns; this
module only runs a configured connection over a socket, prints each message as it passes
(``>>>`` sent, ``<<<`` received, like ``openssl s_client -msg``) and writes the trace lines.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO

from tlsmodel.reference import events as ev
from tlsmodel.reference.client import ClientConnection
from tlsmodel.reference.config import ClientConfig, ServerConfig
from tlsmodel.reference.connection import Connection
from tlsmodel.reference.server import ServerConnection
from tlsmodel.reference.session import Session
from tlsmodel.reference.sockets import TLSFailure, TLSSocket
from tlsmodel.reference.trace import write_trace

from tlsmodel.errors import UsageError

# Seconds a stopped server waits for its connections to close cleanly.
_STOP_GRACE = 3.0
_HTTP_METHODS = (b"GET ", b"HEAD ", b"POST ", b"PUT ", b"DELETE ", b"OPTIONS ")


class _Printer:
    """Prints the connection's new log entries, prefixed with a connection label."""

    def __init__(self, connection: Connection, label: str, quiet: bool) -> None:
        self.connection, self.label, self.quiet = connection, label, quiet
        self._shown = 0

    def __call__(self, event: ev.Event | None = None) -> None:
        log = self.connection.log
        if not self.quiet:
            for entry in log[self._shown :]:
                arrow = ">>>" if entry.sender == self.connection.role else "<<<"
                print(f"{self.label}{arrow} {entry.describe()}", flush=True)
            if isinstance(event, ev.Failed):
                who = "received" if event.by_peer else "sent"
                print(f"{self.label}fatal alert {who}: {event.description} {event.reason}")
        self._shown = len(log)


@contextlib.contextmanager
def _output_file(path: str | None, what: str) -> Iterator[IO[str] | None]:
    """An appended text file (trace or key log), or None when not asked for."""
    if path is None:
        yield None
        return
    try:
        handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise UsageError(f"cannot write {what} {path}: {exc.strerror}") from None
    with handle:
        yield handle


class _Outputs:
    """Where finished connections go: the trace line and the key log lines (thread-safe)."""

    def __init__(self, trace: IO[str] | None, keylog: IO[str] | None) -> None:
        self.trace, self.keylog = trace, keylog
        self._lock = threading.Lock()

    def record(self, trace_id: str, connection: Connection) -> None:
        with self._lock:
            if self.trace is not None:
                write_trace(self.trace, trace_id, connection.log)
            if self.keylog is not None and connection.keylog:
                self.keylog.write("".join(line + "\n" for line in connection.keylog))
                self.keylog.flush()


@contextlib.contextmanager
def _outputs(args: argparse.Namespace) -> Iterator[_Outputs]:
    with (
        _output_file(args.trace_out, "trace file") as trace,
        _output_file(args.keylog, "key log") as keylog,
    ):
        yield _Outputs(trace, keylog)


def reply_for(request: bytes) -> tuple[bytes, bool]:
    """The server's answer and whether to close after it (HTTP/1.0 closes)."""
    if request.startswith(_HTTP_METHODS):
        body = b"tlsmodel reference server\n"
        head = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
        return head % len(body) + body, True
    return request, False


def _serve_one(tls: TLSSocket, label: str, args: argparse.Namespace, printer: _Printer) -> None:
    connection = tls.connection
    assert isinstance(connection, ServerConnection)
    done = tls.handshake()
    peer = "client certificate" if done.peer_certificates else "no client certificate"
    print(f"{label}handshake complete: {done.cipher_suite} resumed={done.resumed} {peer}")
    asked = False
    while True:
        event = tls.next_event()
        if isinstance(event, ev.PeerClosed | ev.Failed):
            return
        if isinstance(event, ev.HandshakeComplete):
            print(f"{label}renegotiated: {event.cipher_suite} resumed={event.resumed}", flush=True)
        if not isinstance(event, ev.ApplicationData):
            continue
        if connection.closed:
            return  # the peer's close_notify came with the request: nobody to answer
        answer, close = reply_for(event.data)
        tls.send(answer)
        printer()
        if close:
            tls.close()
            return
        if args.renegotiate and not asked and connection.handshake_complete:
            # After the answer, not before it: OpenSSL 3.0's s_client stalls for good when
            # application data follows a HelloRequest before its new ClientHello.
            asked = True
            connection.renegotiate()
            tls.flush()
            printer()


class _Live:
    """The sockets of the connections being served, so that a stop can close each cleanly."""

    def __init__(self) -> None:
        self._sockets: set[TLSSocket] = set()
        self._lock = threading.Lock()
        self.stopping = False

    def add(self, tls: TLSSocket) -> None:
        with self._lock:
            self._sockets.add(tls)
            if self.stopping:
                tls.interrupt()

    def discard(self, tls: TLSSocket) -> None:
        with self._lock:
            self._sockets.discard(tls)

    def interrupt_all(self) -> None:
        with self._lock:
            self.stopping = True
            for tls in self._sockets:
                tls.interrupt()


class _Terminated(Exception):
    """SIGTERM arrived: stop serving like Ctrl-C does, but as a normal exit."""


def _raise_terminated(_signum: int, _frame: object) -> None:
    raise _Terminated


def _handle(
    sock: socket.socket,
    number: int,
    config: ServerConfig,
    args: argparse.Namespace,
    outputs: _Outputs,
    live: _Live,
) -> None:
    """One accepted connection, start to close, then its trace line."""
    label = f"[{number}] "
    connection = ServerConnection(config)
    printer = _Printer(connection, label, args.quiet)
    tls = TLSSocket(sock, connection, args.timeout, on_event=printer)
    live.add(tls)
    try:
        _serve_one(tls, label, args, printer)
    except TLSFailure as exc:
        print(f"{label}connection failed: {exc}", flush=True)
    finally:
        tls.close()
        live.discard(tls)
        printer()
        outputs.record(f"server-{number}", connection)


def serve(config: ServerConfig, args: argparse.Namespace) -> int:
    """Accept connections on ``args.host:args.port`` until stopped (or ``--max-connections``),
    each in its own thread so that one slow peer does not hold up the others.

    Stopped by Ctrl-C or SIGTERM, the server still closes every open connection with
    close_notify and writes its trace line (the issue's "closes with close_notify"), waiting at
    most ``_STOP_GRACE`` seconds for the workers; Ctrl-C then exits 130, SIGTERM 0.
    """
    try:
        listener = socket.create_server((args.host, args.port))
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    served = 0
    workers: list[threading.Thread] = []
    live = _Live()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        with listener, _outputs(args) as outputs:
            print(f"listening on {args.host}:{listener.getsockname()[1]}", flush=True)
            try:
                while not args.max_connections or served < args.max_connections:
                    sock, _address = listener.accept()
                    served += 1
                    worker = threading.Thread(
                        target=_handle,
                        args=(sock, served, config, args, outputs, live),
                        daemon=True,
                    )
                    worker.start()
                    workers = [w for w in workers if w.is_alive()] + [worker]
                for worker in workers:
                    worker.join()
            except (KeyboardInterrupt, _Terminated):
                live.interrupt_all()
                deadline = time.monotonic() + _STOP_GRACE
                for worker in workers:
                    worker.join(max(0.0, deadline - time.monotonic()))
                raise
    except _Terminated:
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


def _session_ok(session: Session, mode: str | None) -> bool:
    return mode != "ticket" or session.ticket is not None


def _one_connection(
    config: ClientConfig,
    host: str,
    port: int,
    args: argparse.Namespace,
    session: Session | None,
    label: str,
) -> tuple[ClientConnection, ev.HandshakeComplete | None, bool]:
    """One client connection: handshake, optional renegotiation, data; (conn, done, data ok)."""
    connection = ClientConnection(config, session)
    printer = _Printer(connection, label, args.quiet)
    try:
        sock = socket.create_connection((host, port), timeout=args.timeout)
    except OSError as exc:
        print(f"{label}cannot connect to {host}:{port}: {exc.strerror}", file=sys.stderr)
        return connection, None, False
    tls = TLSSocket(sock, connection, args.timeout, on_event=printer)
    done: ev.HandshakeComplete | None = None
    exchanged = False
    try:
        done = tls.handshake()
        _describe(done, label)
        if args.renegotiate:
            connection.renegotiate()
            tls.flush()
            again = tls.wait_for(ev.HandshakeComplete | ev.RenegotiationDeclined)  # type: ignore[arg-type]
            if isinstance(again, ev.HandshakeComplete):
                print(f"{label}renegotiated: {again.cipher_suite}", flush=True)
            else:
                print(f"{label}renegotiation declined by the server", flush=True)
        tls.send(args.send.encode())
        printer()
        reply = tls.receive()
        exchanged = True
        tls.sock.settimeout(min(args.timeout, 0.5))
        with contextlib.suppress(TLSFailure):
            while True:
                event = tls.next_event()
                if isinstance(event, ev.ApplicationData):
                    reply += event.data
                elif isinstance(event, ev.PeerClosed | ev.Failed):
                    break
        print(f"{label}received {len(reply)} bytes", flush=True)
        if not args.quiet:
            sys.stdout.write(reply.decode(errors="replace") + "\n")
    except TLSFailure as exc:
        print(f"{label}connection failed: {exc}", file=sys.stderr, flush=True)
    finally:
        tls.close()
        printer()
    return connection, done, exchanged


def _describe(done: ev.HandshakeComplete, label: str) -> None:
    from cryptography import x509

    leaf = x509.load_der_x509_certificate(done.peer_certificates[0])
    print(
        f"{label}handshake complete: {done.cipher_suite} resumed={done.resumed} "
        f"ems={done.extended_master_secret} secure_renegotiation={done.secure_renegotiation} "
        f"peer={leaf.subject.rfc4514_string()}",
        flush=True,
    )
    if done.ocsp_response is not None:
        size = len(done.ocsp_response)
        print(f"{label}stapled OCSP response: {size} bytes, not revoked", flush=True)


def connect(config: ClientConfig, host: str, port: int, args: argparse.Namespace) -> int:
    """Run the client once, or twice with ``--resume``; exit status as the CLI documents."""
    with _outputs(args) as outputs:
        rounds = 2 if args.resume else 1
        session: Session | None = None
        ok = True
        for index in range(rounds):
            label = f"[{index + 1}] " if rounds > 1 else ""
            connection, done, exchanged = _one_connection(config, host, port, args, session, label)
            outputs.record(f"client-{index + 1}", connection)
            ok = ok and done is not None and exchanged
            if done is None:
                break
            if index == 1:
                how = "ticket" if session and session.ticket else "session id"
                print(f"resumed: {'yes (' + how + ')' if done.resumed else 'no'}", flush=True)
            session = done.session if _session_ok(done.session, args.resume) else None
            if index == 0 and args.resume and session is None:
                print("no ticket received; the second connection cannot resume", flush=True)
    return 0 if ok else 1
