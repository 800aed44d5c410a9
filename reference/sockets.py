"""A thin blocking-socket driver around the sans-IO connection.

Why so thin: everything TLS lives in the connection; this only moves bytes between a socket and
``receive_data``/``data_to_send`` with a timeout on every wait, so the CLI, tests and the
benchmark share one loop and no socket ever blocks forever.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable

from tlsmodel.reference.connection import Connection
from tlsmodel.reference.events import (
    ApplicationData,
    Event,
    Failed,
    HandshakeComplete,
    PeerClosed,
)


class TLSFailure(Exception):
    """The connection failed (fatal alert either way) or the transport ended early."""


class TLSSocket:
    """A connection bound to a connected socket; every blocking call honours ``timeout``."""

    def __init__(
        self,
        sock: socket.socket,
        connection: Connection,
        timeout: float = 10.0,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.sock = sock
        self.connection = connection
        self._on_event = on_event
        self._eof = False
        self._stopping = False
        sock.settimeout(timeout)

    def interrupt(self) -> None:
        """Wake a thread blocked reading this socket so that it closes with close_notify.

        Safe to call from another thread: it only sets a flag and shuts the read side, so the
        owning thread's ``recv`` returns at once; that thread then raises ``TLSFailure`` without
        taking the wake-up for the peer's end, and its ``close()`` still sends close_notify.
        """
        self._stopping = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RD)

    def flush(self) -> None:
        """Write everything the connection has queued."""
        data = self.connection.data_to_send()
        if data:
            try:
                self.sock.sendall(data)
            except OSError:
                # The peer went away; what it missed cannot matter any more.
                self._eof = True

    def next_event(self) -> Event:
        """Flush, then read until the connection yields an event."""
        while True:
            event = self.connection.next_event()
            if event is not None:
                self.flush()
                if self._on_event is not None:
                    self._on_event(event)
                return event
            self.flush()
            if self._eof:
                raise TLSFailure("transport closed")
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                raise TLSFailure("timed out waiting for the peer") from None
            except OSError as exc:
                # A reset transport is an end without close_notify (the connection records
                # it); the caller learns why.
                self._eof = True
                self.connection.receive_data(b"")
                raise TLSFailure(f"transport error: {exc}") from None
            if self._stopping:
                raise TLSFailure("stopped")
            if not data:
                self._eof = True
            self.connection.receive_data(data)

    def wait_for(self, kind: type) -> Event:
        """Events until one of ``kind``; a Failed or an early close raises TLSFailure."""
        while True:
            event = self.next_event()
            if isinstance(event, kind):
                return event
            if isinstance(event, Failed):
                who = "peer" if event.by_peer else "we"
                raise TLSFailure(f"{who} sent fatal alert {event.description}: {event.reason}")
            if isinstance(event, PeerClosed):
                raise TLSFailure("peer closed the connection")

    def handshake(self) -> HandshakeComplete:
        """Run until the (re)handshake completes."""
        self.flush()
        event = self.wait_for(HandshakeComplete)
        assert isinstance(event, HandshakeComplete)
        return event

    def send(self, data: bytes) -> None:
        """Send application data now."""
        self.connection.send_application_data(data)
        self.flush()

    def receive(self) -> bytes:
        """The next application data from the peer."""
        event = self.wait_for(ApplicationData)
        assert isinstance(event, ApplicationData)
        return event.data

    def close(self, linger: float = 1.0) -> None:
        """Send close_notify, wait up to ``linger`` seconds for the peer's (RFC 5246 §7.2.1
        lets the closer go without it; some peers never answer), and close the socket."""
        try:
            if not self.connection.closed:
                self.connection.close()
                self.flush()
                timeout = self.sock.gettimeout()
                self.sock.settimeout(linger if timeout is None else min(timeout, linger))
                while not self._eof:
                    if isinstance(self.next_event(), PeerClosed | Failed):
                        break
        except (TLSFailure, OSError):
            pass
        finally:
            self.sock.close()
