"""The TLS 1.2 key schedule: PRF, master secret, key block, Finished and the transcript.

Everything here is a pure function of its inputs (RFC 5246 §5, §6.3, §7.4.9, §8.1 and
RFC 7627 §4), built on ``cryptography``'s HMAC and hashes — no hand-written primitives — so the
known-answer tests can pin each step separately.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, hmac
from tlsmodel.reference.suites import CipherSuite

MASTER_SECRET_LENGTH = 48
CLIENT_FINISHED = b"client finished"
SERVER_FINISHED = b"server finished"

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def hash_for(name: str) -> hashes.HashAlgorithm:
    """A fresh ``cryptography`` hash object for a suite's hash name ("sha256", ...)."""
    return _HASHES[name]()


def p_hash(hash_name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    """RFC 5246 §5: ``P_hash(secret, seed) = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) +
    seed) + ...`` with ``A(0) = seed`` and ``A(i) = HMAC(secret, A(i-1))``, cut to ``length``.

    The keyed HMAC state is built once and ``copy()``-ed for every block, as the key schedule
    of the secret does not change between blocks.
    """
    keyed = hmac.HMAC(secret, hash_for(hash_name))
    out = bytearray()
    a = seed
    while len(out) < length:
        step = keyed.copy()
        step.update(a)
        a = step.finalize()
        block = keyed.copy()
        block.update(a + seed)
        out += block.finalize()
    return bytes(out[:length])


def prf(hash_name: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """RFC 5246 §5: ``PRF(secret, label, seed) = P_<hash>(secret, label + seed)``.

    TLS 1.2 uses P_SHA256 unless the suite names another hash (SHA-384 suites, RFC 5289).
    """
    return p_hash(hash_name, secret, label + seed, length)


def master_secret(
    hash_name: str, pre_master: bytes, client_random: bytes, server_random: bytes
) -> bytes:
    """RFC 5246 §8.1: ``PRF(pre_master_secret, "master secret", ClientHello.random +
    ServerHello.random)[0..47]``."""
    return prf(
        hash_name, pre_master, b"master secret", client_random + server_random, MASTER_SECRET_LENGTH
    )


def extended_master_secret(hash_name: str, pre_master: bytes, session_hash: bytes) -> bytes:
    """RFC 7627 §4: ``PRF(pre_master_secret, "extended master secret", session_hash)[0..47]``,
    where session_hash is the hash of the handshake messages up to and including the
    ClientKeyExchange (§3), which binds the master secret to this handshake's messages."""
    return prf(hash_name, pre_master, b"extended master secret", session_hash, MASTER_SECRET_LENGTH)


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    """RFC 5246 §6.3: the key block, partitioned in the order the RFC lists."""

    client_write_mac_key: bytes
    server_write_mac_key: bytes
    client_write_key: bytes
    server_write_key: bytes
    client_write_iv: bytes
    server_write_iv: bytes


def key_material(
    suite: CipherSuite, master: bytes, client_random: bytes, server_random: bytes
) -> KeyMaterial:
    """RFC 5246 §6.3: ``key_block = PRF(master_secret, "key expansion", server_random +
    client_random)`` — note the randoms are in the opposite order to the master secret's seed.

    The IVs are the implicit parts only: the 4-byte GCM salt (RFC 5288 §3), the 12-byte
    ChaCha20 nonce mask (RFC 7905 §2), and nothing for CBC, whose IVs are explicit per record
    in TLS 1.2 (RFC 5246 §6.2.3.2).
    """
    mac, key, iv = suite.mac_length, suite.bulk.key_length, suite.bulk.fixed_iv_length
    block = prf(
        suite.prf_hash,
        master,
        b"key expansion",
        server_random + client_random,
        2 * (mac + key + iv),
    )
    parts = []
    offset = 0
    for size in (mac, mac, key, key, iv, iv):
        parts.append(block[offset : offset + size])
        offset += size
    return KeyMaterial(*parts)


def verify_data(hash_name: str, master: bytes, label: bytes, handshake_hash: bytes) -> bytes:
    """RFC 5246 §7.4.9: ``PRF(master_secret, finished_label, Hash(handshake_messages))[0..11]``."""
    return prf(hash_name, master, label, handshake_hash, 12)


class Transcript:
    """The handshake messages of the current handshake, as sent on the wire (RFC 5246 §7.4.9).

    The raw bytes are kept, not a running hash, because the hash is not known until the
    ServerHello picks the suite, and because TLS 1.2 CertificateVerify signs the messages
    themselves with whatever hash the signature scheme names (§7.4.8). A handshake is a few
    kilobytes, so this is cheap; ``copy()`` snapshots the transcript at a point in the
    handshake (for the Finished of each side and for the EMS session hash).
    """

    __slots__ = ("_data",)

    def __init__(self, data: bytes = b"") -> None:
        self._data = bytearray(data)

    def update(self, message: bytes) -> None:
        self._data += message

    @property
    def data(self) -> bytes:
        return bytes(self._data)

    def digest(self, hash_name: str) -> bytes:
        h = hashes.Hash(hash_for(hash_name))
        h.update(bytes(self._data))
        return h.finalize()

    def copy(self) -> Transcript:
        return Transcript(bytes(self._data))

    def reset(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
