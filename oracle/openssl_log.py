"""Read ``openssl s_client -msg`` / ``s_server -msg`` output into traces.

Why this input: it is what people already have when a handshake with OpenSSL fails, and since
it is written by an endpoint it shows every message decrypted — no key log needed. The format
(OpenSSL 1.1 and 3.x) is one header line per record or message, followed by its bytes as hex::

    >>> TLS 1.2, RecordHeader [length 0005]
        16 03 03 00 45
    <<< TLS 1.2, Handshake [length 0045], ServerHello
        02 00 00 41 03 03 5e ea ...

``>>>`` is what the logging side sent, ``<<<`` what it received. We read the content type of each
record from its RecordHeader bytes (OpenSSL logs a *received* ChangeCipherSpec only there), each
handshake message from its own bytes (its type byte, and for hellos and Certificate the few
fields the trace needs), and alerts from their two bytes. The version word on a line is not
trusted: s_server labels a received ClientHello with its own maximum version.

Connections are split at ``CONNECTED(`` (s_client, also on ``-reconnect``) and ``ACCEPT`` /
``CONNECTION CLOSED`` (s_server); who is the client is read from who sent the ClientHello.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from tlsmodel.model.trace import Trace
from tlsmodel.oracle import iana
from tlsmodel.oracle.records import UNKNOWN_HANDSHAKE, ConnectionBuilder, InputError

_HEADER_RE = re.compile(r"^(>>>|<<<) [^,]*, (\w+) \[length [0-9a-fA-F]+\](?:, (\w+))?")
_HEX_RE = re.compile(r"^ {4}((?:[0-9a-f]{2} ?)+)\s*$")
_STARTS = ("CONNECTED(", "ACCEPT")
_ENDS = ("CONNECTION CLOSED",)


class _Malformed(ValueError):
    """Bytes of a logged message too short for what its type says."""


class _Cursor:
    """Bounds-checked reads from one logged handshake message."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise _Malformed(f"needs {self.pos + n} bytes, the log shows {len(self.data)}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def number(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def vector(self, length_bytes: int) -> bytes:
        return self.take(self.number(length_bytes))

    def at_end(self) -> bool:
        return self.pos >= len(self.data)


def _extensions(cursor: _Cursor) -> list[tuple[int, bytes]]:
    if cursor.at_end():
        return []
    block = _Cursor(cursor.vector(2))
    found = []
    while not block.at_end():
        code = block.number(2)
        found.append((code, block.vector(2)))
    return found


def _hello(builder: ConnectionBuilder, sender: str, name: str, body: bytes, where: str) -> None:
    """ClientHello/ServerHello fields (RFC 5246 §7.4.1.2-3; supported_versions RFC 8446 §4.2.1)."""
    cursor = _Cursor(body, 4)
    version = cursor.number(2)
    cursor.take(32)
    session_id = cursor.vector(1).hex()
    if name == "ClientHello":
        cursor.vector(2)  # cipher_suites
        cursor.vector(1)  # compression_methods
        extensions = _extensions(cursor)
        offered: tuple[int, ...] = ()
        for code, data in extensions:
            if code == 43 and data:
                listed = data[1 : 1 + data[0]]
                offered = tuple(
                    int.from_bytes(listed[i : i + 2], "big") for i in range(0, len(listed) - 1, 2)
                )
        builder.hello(sender, name, where, session_id, (version, *offered))
        return
    suite = cursor.number(2)
    cursor.take(1)  # compression_method
    extensions = _extensions(cursor)
    chosen = tuple(
        int.from_bytes(data[:2], "big")
        for code, data in extensions
        if code == 43 and len(data) >= 2
    )
    builder.hello(
        sender,
        name,
        where,
        session_id,
        (version, *chosen),
        cipher_suite=iana.suite_name(suite),
        extensions=[iana.extension_name(code) for code, _ in extensions],
    )


def _handshake(builder: ConnectionBuilder, sender: str, data: bytes, where: str) -> None:
    if len(data) < 4:
        raise _Malformed("a handshake message needs a 4-byte header")
    code = data[0]
    name = iana.HANDSHAKE_NAMES.get(code)
    if name is None:
        builder.add(sender, UNKNOWN_HANDSHAKE, where, code=code)
    elif name in ("ClientHello", "ServerHello"):
        _hello(builder, sender, name, data, where)
    elif name == "Certificate":
        builder.add(sender, name, where, empty=_Cursor(data, 4).number(3) == 0)
    else:
        builder.add(sender, name, where)


def read_openssl_log(path: Path) -> Iterator[Trace | InputError]:
    """Yield one ``Trace`` per connection in an ``openssl -msg`` log, and an ``InputError`` for
    each logged message whose bytes are cut short (that message is skipped)."""
    source = str(path)
    with path.open(encoding="utf-8", errors="replace") as handle:
        lines = list(enumerate(handle, start=1))
    builder = ConnectionBuilder(source)
    first_line = 0
    index = 0
    while index < len(lines):
        number, line = lines[index]
        index += 1
        if line.startswith(_STARTS) or line.startswith(_ENDS):
            if first_line:
                yield _finish(builder, path, first_line)
            builder, first_line = ConnectionBuilder(source), 0
            continue
        match = _HEADER_RE.match(line)
        if match is None:
            continue
        direction, kind, name = match.groups()
        data = bytearray()
        while index < len(lines) and (hex_line := _HEX_RE.match(lines[index][1])):
            data += bytes.fromhex(hex_line.group(1))
            index += 1
        sender = "self" if direction == ">>>" else "peer"
        where = f"line {number}"
        try:
            added = _record(builder, sender, kind, bytes(data), where)
        except _Malformed as err:
            yield InputError(source, where, f"{name or kind}: {err}")
            continue
        if added and not first_line:
            first_line = number
    if first_line:
        yield _finish(builder, path, first_line)


def _record(builder: ConnectionBuilder, sender: str, kind: str, data: bytes, where: str) -> bool:
    """Add what one logged item stands for; False if it adds no message."""
    if kind == "RecordHeader":
        if len(data) < 5:
            raise _Malformed("a record header has 5 bytes")
        content = data[0]
        if content == 20:
            builder.add(sender, "ChangeCipherSpec", where)
        elif content == 23:
            builder.add(sender, "ApplicationData", where)
        return content in (20, 23)
    if kind == "Handshake":
        _handshake(builder, sender, data, where)
        return True
    if kind == "Alert":
        if len(data) < 2:
            raise _Malformed("an alert has 2 bytes")
        description = iana.alert_description(data[1])
        if description is None:
            builder.note(f"{where}: alert description {data[1]} is not in the IANA registry")
        builder.alert(sender, where, iana.ALERT_LEVELS.get(data[0]), description)
        return True
    return False  # ChangeCipherSpec lines repeat the header; TLS 1.3 InnerContent etc.


def _finish(builder: ConnectionBuilder, path: Path, first_line: int) -> Trace:
    return builder.finish(f"{path.name}:{first_line}", builder.client_key())
