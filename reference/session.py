"""Resumable sessions: the server's session-ID cache and RFC 5077 tickets.

Why in one module: both answer the same question — "may this ClientHello resume, and with
which master secret?" — and both must be bounded (the cache by size, tickets by lifetime and
key rotation), so the connection never keeps state it cannot bound. Time comes in as a
number from the caller: the sans-IO connection owns no clock.

Tickets are ``key_name(16) | nonce(12) | AES-256-GCM(state, aad=key_name)`` — RFC 5077 §4's
recommended layout with an AEAD in place of CBC+HMAC, so a ticket is encrypted and
authenticated under a key only the server holds. A ticket sealed under a previous key (after
``rotate``) or older than half its lifetime still resumes but asks for renewal.
"""

from __future__ import annotations

import os
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Session:
    """What a resumption needs: suite, master secret, EMS flag and the peer's chain (DER)."""

    session_id: bytes
    cipher_suite: int
    master_secret: bytes = field(repr=False)
    extended_master_secret: bool
    peer_certificates: tuple[bytes, ...] = field(repr=False)
    created: float
    server_name: str | None = None
    ticket: bytes | None = field(default=None, repr=False)
    ticket_lifetime: int = 0


class SessionCache:
    """Server-side session-ID cache: least recently used first out, entries expire.

    Shared by every connection of a server, possibly from several threads (the socket layer
    serves each connection in its own), hence the lock.
    """

    def __init__(self, capacity: int = 1024, lifetime: float = 7200.0) -> None:
        self._capacity = capacity
        self._lifetime = lifetime
        self._entries: OrderedDict[bytes, Session] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, session: Session) -> None:
        """Remember ``session`` under its ID, evicting the oldest entry beyond capacity."""
        if not session.session_id:
            return
        with self._lock:
            self._entries[session.session_id] = session
            self._entries.move_to_end(session.session_id)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def get(self, session_id: bytes, now: float) -> Session | None:
        """The live session for ``session_id``, or None (unknown or expired)."""
        with self._lock:
            session = self._entries.get(session_id)
            if session is None:
                return None
            if now - session.created > self._lifetime:
                del self._entries[session_id]
                return None
            self._entries.move_to_end(session_id)
            return session

    def remove(self, session_id: bytes) -> None:
        """Forget a session, e.g. after a fatal alert on a connection that used it (§7.2)."""
        with self._lock:
            self._entries.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True, slots=True)
class OpenedTicket:
    """A ticket the server could open: the session, and whether to issue a fresh one."""

    session: Session
    renew: bool


class TicketKeys:
    """The server's ticket keys: the current one seals, it and a few previous ones open."""

    def __init__(self, lifetime: int = 7200, keep: int = 2) -> None:
        self.lifetime = lifetime
        self._keep = keep
        self._keys: list[tuple[bytes, AESGCM]] = []
        self.rotate()

    def rotate(self) -> None:
        """Start sealing under a fresh key; tickets under the last ``keep`` keys still open."""
        self._keys.insert(0, (os.urandom(16), AESGCM(AESGCM.generate_key(bit_length=256))))
        del self._keys[self._keep + 1 :]

    def seal(self, session: Session) -> bytes:
        """Encrypt and authenticate ``session`` into an opaque ticket."""
        name, aead = self._keys[0]
        nonce = os.urandom(12)
        return name + nonce + aead.encrypt(nonce, _encode_state(session), name)

    def open(self, ticket: bytes, now: float) -> OpenedTicket | None:
        """The session inside ``ticket``, or None if forged, foreign, corrupt or expired."""
        if len(ticket) < 16 + 12 + 16:
            return None
        name, nonce, sealed = ticket[:16], ticket[16:28], ticket[28:]
        for index, (key_name, aead) in enumerate(self._keys):
            if key_name != name:
                continue
            try:
                session = _decode_state(aead.decrypt(nonce, sealed, name))
            except (InvalidTag, ValueError, struct.error):
                return None
            age = now - session.created
            if age < 0 or age > self.lifetime:
                return None
            return OpenedTicket(
                replace(session, ticket=ticket), index > 0 or 2 * age > self.lifetime
            )
        return None


def _encode_state(session: Session) -> bytes:
    """Serialize what the server needs to resume (RFC 5077 §4 ``StatePlaintext``)."""
    chain = b"".join(struct.pack("!I", len(c)) + c for c in session.peer_certificates)
    return (
        struct.pack(
            "!BHBdB",
            _STATE_VERSION,
            session.cipher_suite,
            int(session.extended_master_secret),
            session.created,
            len(session.master_secret),
        )
        + session.master_secret
        + struct.pack("!H", len(session.peer_certificates))
        + chain
    )


def _decode_state(data: bytes) -> Session:
    """Inverse of ``_encode_state``; any malformation is a ValueError or struct.error."""
    version, suite, ems, created, ms_len = struct.unpack_from("!BHBdB", data, 0)
    if version != _STATE_VERSION or ms_len != 48:
        raise ValueError("unsupported ticket state")
    offset = struct.calcsize("!BHBdB")
    master_secret = data[offset : offset + ms_len]
    offset += ms_len
    (count,) = struct.unpack_from("!H", data, offset)
    offset += 2
    chain = []
    for _ in range(count):
        (length,) = struct.unpack_from("!I", data, offset)
        offset += 4
        chain.append(data[offset : offset + length])
        if len(chain[-1]) != length:
            raise ValueError("truncated certificate in ticket")
        offset += length
    if offset != len(data) or len(master_secret) != 48:
        raise ValueError("malformed ticket state")
    return Session(b"", suite, master_secret, bool(ems), tuple(chain), created)
