"""Put a real TCP connection on 127.0.0.1 between a scripted peer and a reference Connection.

Why: the oracle's capture tests need *real bytes on the wire* that tshark can record, but the
deviant peers (``refscripted``) and the reference ``Connection`` are sans-IO and talk in memory.
``Wire`` stands in for the connection: everything the scripted peer delivers crosses the TCP
connection before the reference connection sees it, and everything the connection answers
crosses it back, in order, so a capture on ``lo`` shows exactly the conversation.
"""

from __future__ import annotations

import socket
from typing import Any


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(left)
        if not chunk:
            raise ConnectionError(f"peer closed with {left} bytes outstanding")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class Wire:
    """A reference connection behind a loopback TCP connection; the client side connects."""

    def __init__(self, conn: Any, port: int, *, conn_is_server: bool, timeout: float = 10.0):
        self.conn = conn
        listener = socket.create_server(("127.0.0.1", port))
        listener.settimeout(timeout)
        try:
            dialer = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            accepted, _ = listener.accept()
        finally:
            listener.close()
        accepted.settimeout(timeout)
        # The scripted peer's end and the connection's end of the one TCP connection.
        self.peer_end, self.conn_end = (dialer, accepted) if conn_is_server else (accepted, dialer)

    def receive_data(self, data: bytes) -> None:
        """What the scripted peer sends: across the wire, then into the connection."""
        self.peer_end.sendall(data)
        self.conn.receive_data(_read_exactly(self.conn_end, len(data)))

    def data_to_send(self) -> bytes:
        """What the connection answers: across the wire, then to the scripted peer."""
        data = self.conn.data_to_send()
        self.conn_end.sendall(data)
        return _read_exactly(self.peer_end, len(data))

    def next_event(self) -> Any:
        return self.conn.next_event()

    def close(self) -> None:
        for end in (self.peer_end, self.conn_end):
            end.close()
