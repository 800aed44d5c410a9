"""Read ``openssl s_client/s_server -trace`` output into traces.

Why a second OpenSSL reader: ``-trace`` is what OpenSSL's own documentation suggests for
debugging handshakes, and unlike ``-msg`` it prints every field by name, no hex to decode::

    Received Record
    Header:
      Version = TLS 1.2 (0x303)
      Content Type = Handshake (22)
      Length = 65
        ServerHello, Length=61
          server_version=0x303 (TLS 1.2)
          session_id (len=32): 2D5DEC08...
          cipher_suite {0xC0, 0x30} TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
          extensions, length = 9
            extension_type=renegotiate(65281), length=1

"Sent"/"Received" is the logging side's direction; the record's content type gives
ChangeCipherSpec, ApplicationData and Alert (``Level=fatal(2), description=...(40)``); each
handshake message line (four spaces, ``Name, Length=N``) uses OpenSSL's names, which are the
model's. Code points are taken from the parentheses, so OpenSSL's own spellings
("renegotiate") never reach a trace. Connections split as in the ``-msg`` reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from tlsmodel.model.alphabet import HANDSHAKE_TYPES
from tlsmodel.model.trace import Trace
from tlsmodel.oracle import iana
from tlsmodel.oracle.records import UNKNOWN_HANDSHAKE, ConnectionBuilder, InputError

_RECORD_RE = re.compile(r"^(Sent|Received) Record\s*$")
_CONTENT_RE = re.compile(r"^  Content Type = .*\((\d+)\)\s*$")
_MESSAGE_RE = re.compile(r"^    (\w+), Length=\d+\s*$")
_ALERT_RE = re.compile(r"^    Level=\w*\((\d+)\), description=.*\((\d+)\)\s*$")
_VERSION_RE = re.compile(r"^      (?:client|server)_version=0x([0-9a-fA-F]+)")
_SESSION_RE = re.compile(r"^      session_id \(len=\d+\):\s*([0-9A-Fa-f]*)")
_SUITE_RE = re.compile(r"^      cipher_suite \{0x([0-9A-Fa-f]{2}), 0x([0-9A-Fa-f]{2})\}")
_EXTENSION_RE = re.compile(r"^        extension_type=.*\((\d+)\), length=")
_LISTED_VERSION_RE = re.compile(r"^ {10,}(?:TLS|SSL|DTLS)[^(]*\((\d+)\)\s*$")
_CERTIFICATES_RE = re.compile(r"^      certificate_list, length=(\d+)")
_STARTS = ("CONNECTED(", "ACCEPT", "CONNECTION CLOSED")


class _Message:
    """The fields of one handshake message gathered from its indented detail lines."""

    __slots__ = (
        "certificates", "code", "extensions", "name", "session_id", "suite", "versions", "where",
    )  # fmt: skip

    def __init__(self, name: str, where: str) -> None:
        self.name, self.where = name, where
        self.code = HANDSHAKE_TYPES.get(name)
        self.session_id = ""
        self.suite: int | None = None
        self.extensions: list[int] = []
        self.versions: list[int] = []  # supported_versions entries
        self.certificates: int | None = None

    def read(self, line: str) -> None:
        if match := _VERSION_RE.match(line):
            self.versions.insert(0, int(match.group(1), 16))  # legacy version first
        elif match := _SESSION_RE.match(line):
            self.session_id = match.group(1).lower()
        elif match := _SUITE_RE.match(line):
            self.suite = int(match.group(1) + match.group(2), 16)
        elif match := _EXTENSION_RE.match(line):
            self.extensions.append(int(match.group(1)))
        elif (match := _LISTED_VERSION_RE.match(line)) and self.extensions[-1:] == [43]:
            self.versions.append(int(match.group(1)))
        elif match := _CERTIFICATES_RE.match(line):
            self.certificates = int(match.group(1))

    def emit(self, builder: ConnectionBuilder, sender: str) -> None:
        if self.code is None:
            builder.add(sender, UNKNOWN_HANDSHAKE, self.where, name=self.name)
        elif self.name in ("ClientHello", "ServerHello"):
            if not self.versions:
                raise ValueError(f"{self.name} without its version line")
            versions = tuple(self.versions)
            if self.name == "ServerHello":
                extras = {"extensions": [iana.extension_name(c) for c in self.extensions]}
                if self.suite is not None:
                    extras["cipher_suite"] = iana.suite_name(self.suite)  # type: ignore[assignment]
                builder.hello(sender, self.name, self.where, self.session_id, versions, **extras)
            else:
                builder.hello(sender, self.name, self.where, self.session_id, versions)
        elif self.name == "Certificate" and self.certificates is not None:
            builder.add(sender, self.name, self.where, empty=self.certificates == 0)
        else:
            builder.add(sender, self.name, self.where)


def read_openssl_trace(path: Path) -> Iterator[Trace | InputError]:
    """Yield one ``Trace`` per connection of an ``openssl -trace`` log (and an ``InputError``
    for a message whose detail lines lack what its type needs; that message is skipped)."""
    source = str(path)
    builder, first_line, sender = ConnectionBuilder(source), 0, "self"
    message: _Message | None = None

    def flush() -> Iterator[InputError]:
        nonlocal message
        if message is not None:
            try:
                message.emit(builder, sender)
            except ValueError as err:
                yield InputError(source, message.where, str(err))
            message = None

    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            where = f"line {number}"
            if message is not None and line.startswith("      "):
                message.read(line)
                continue
            yield from flush()
            if line.startswith(_STARTS):
                if first_line:
                    yield builder.finish(f"{path.name}:{first_line}", builder.client_key())
                builder, first_line = ConnectionBuilder(source), 0
            elif match := _RECORD_RE.match(line):
                sender = "self" if match.group(1) == "Sent" else "peer"
            elif match := _CONTENT_RE.match(line):
                content = int(match.group(1))
                if content in (20, 23):
                    builder.add(
                        sender, "ChangeCipherSpec" if content == 20 else "ApplicationData", where
                    )
                    first_line = first_line or number
            elif match := _MESSAGE_RE.match(line):
                message = _Message(match.group(1), where)
                first_line = first_line or number
            elif match := _ALERT_RE.match(line):
                level, code = int(match.group(1)), int(match.group(2))
                builder.alert(
                    sender, where, iana.ALERT_LEVELS.get(level), iana.alert_description(code)
                )
                first_line = first_line or number
        yield from flush()
    if first_line:
        yield builder.finish(f"{path.name}:{first_line}", builder.client_key())
