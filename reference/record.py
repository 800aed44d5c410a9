"""The record layer framing (RFC 5246 §6.2) and handshake message reassembly (§6.2.1, §7.4).

Three separate jobs, each bounded so that a peer cannot make us buffer without limit:

- ``RecordReader`` cuts a byte stream into records. A header announcing more than
  2^14 + 2048 bytes (the TLSCiphertext ceiling, §6.2.3) is ``record_overflow`` before any of
  the body is buffered, so the buffer never holds more than one maximal record plus a header.
- ``fragment_payload`` splits outgoing data into fragments of at most 2^14 bytes (§6.2.1).
- ``HandshakeReassembler`` turns the handshake byte stream (after decryption) back into
  messages: several messages per record, one message over many records. A message header
  announcing more than ``max_message_size`` is ``decode_error`` at once — the length field is
  out of the range we accept — so the buffer is bounded by that size.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from tlsmodel.reference.alerts import AlertDescription, TLSAlert, decode_error
from tlsmodel.reference.codec import ContentType

MAX_FRAGMENT = 2**14  # TLSPlaintext.length ceiling, RFC 5246 §6.2.1
MAX_CIPHERTEXT = 2**14 + 2048  # TLSCiphertext.length ceiling, RFC 5246 §6.2.3
HEADER_LENGTH = 5
HANDSHAKE_HEADER_LENGTH = 4
DEFAULT_MAX_HANDSHAKE = 2**18  # large enough for long certificate chains


@dataclass(frozen=True, slots=True)
class Record:
    """One record as framed on the wire: type, record-layer version, (protected) fragment."""

    content_type: int
    version: int
    fragment: bytes


_HEADER = struct.Struct(">BHH")  # RFC 5246 §6.2.1: type, ProtocolVersion, uint16 length


def record_header(content_type: int, version: int, length: int) -> bytes:
    """The 5-byte record header. No length check: deviant records must be sendable."""
    return _HEADER.pack(content_type, version, length)


def encode_record(content_type: int, version: int, fragment: bytes) -> bytes:
    """RFC 5246 §6.2.1 header + fragment."""
    return record_header(content_type, version, len(fragment)) + fragment


def fragment_payload(data: bytes, size: int = MAX_FRAGMENT) -> list[bytes]:
    """Split ``data`` into pieces of at most ``size`` bytes; empty data gives one empty piece
    (a zero-length application data record is legal, RFC 5246 §6.2.1)."""
    if not data:
        return [b""]
    return [data[i : i + size] for i in range(0, len(data), size)]


class RecordReader:
    """Incremental record parser: ``feed`` bytes, take complete records with ``next_record``.

    The buffer is consumed through a read offset and only the unread tail is ever copied (once
    per ``feed``), so reading many records out of one large read costs linear time.
    """

    __slots__ = ("_buffer", "_max", "_pos")

    def __init__(self, max_ciphertext: int = MAX_CIPHERTEXT) -> None:
        self._buffer = b""
        self._pos = 0
        self._max = max_ciphertext

    def feed(self, data: bytes) -> None:
        if self._pos >= len(self._buffer):
            self._buffer = bytes(data)
        else:
            self._buffer = self._buffer[self._pos :] + data
        self._pos = 0

    @property
    def buffered(self) -> int:
        return len(self._buffer) - self._pos

    def next_record(self) -> Record | None:
        """The next complete record, or None if more bytes are needed.

        RFC 5246 §6: "If a TLS implementation receives an unexpected record type, it MUST send
        an unexpected_message alert." Only major version 3 is TLS; anything else is not a
        record we can read (§E.1 — the exact minor version is negotiation, left to the caller).
        """
        buf, pos = self._buffer, self._pos
        if len(buf) - pos < HEADER_LENGTH:
            return None
        content_type, version, length = _HEADER.unpack_from(buf, pos)
        if content_type not in ContentType._value2member_map_:
            raise TLSAlert(AlertDescription.unexpected_message, f"record type {content_type}")
        if version >> 8 != 3:
            raise TLSAlert(AlertDescription.protocol_version, f"record version {version:#06x}")
        if length > self._max:
            raise TLSAlert(AlertDescription.record_overflow, f"record length {length}")
        end = pos + HEADER_LENGTH + length
        if len(buf) < end:
            return None
        self._pos = end
        return Record(content_type, version, buf[pos + HEADER_LENGTH : end])


@dataclass(frozen=True, slots=True)
class RawHandshake:
    """One reassembled handshake message: its type, body, and the exact bytes for hashing."""

    msg_type: int
    body: bytes
    raw: bytes


class HandshakeReassembler:
    """Rebuild handshake messages from the plaintext of handshake records (RFC 5246 §6.2.1:
    "multiple client messages of the same ContentType MAY be coalesced into a single
    TLSPlaintext record, or a single message MAY be fragmented across several records")."""

    __slots__ = ("_buffer", "_max")

    def __init__(self, max_message_size: int = DEFAULT_MAX_HANDSHAKE) -> None:
        self._buffer = bytearray()
        self._max = max_message_size

    @property
    def pending(self) -> bool:
        """True when part of a message is buffered (a CCS or key change now would split it)."""
        return bool(self._buffer)

    def feed(self, fragment: bytes) -> list[RawHandshake]:
        """Add one record's plaintext; return every message it completes, in order."""
        self._buffer += fragment
        out: list[RawHandshake] = []
        while len(self._buffer) >= HANDSHAKE_HEADER_LENGTH:
            length = int.from_bytes(self._buffer[1:4], "big")
            if length > self._max:
                raise decode_error(f"handshake message of {length} bytes exceeds {self._max}")
            end = HANDSHAKE_HEADER_LENGTH + length
            if len(self._buffer) < end:
                break
            raw = bytes(self._buffer[:end])
            del self._buffer[:end]
            out.append(RawHandshake(raw[0], raw[HANDSHAKE_HEADER_LENGTH:], raw))
        return out
