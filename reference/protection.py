"""Record protection for TLS 1.2: the null state, AEAD (GCM, ChaCha20-Poly1305) and CBC+HMAC.

One object per direction and epoch; it owns the 64-bit sequence number that RFC 5246 §6.1 puts
in every MAC/AAD. All failures of authentication — wrong tag, wrong MAC, bad CBC padding, a
fragment too short to hold IV and tag — are ``bad_record_mac``: RFC 5246 §7.2.2 deprecates
decryption_failed precisely so that padding errors and MAC errors look the same to an attacker
(Vaudenay; Lucky Thirteen). Plaintext over 2^14 bytes is ``record_overflow`` (§6.2.3).
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import constant_time, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from tlsmodel.reference.alerts import AlertDescription, TLSAlert
from tlsmodel.reference.keys import hash_for
from tlsmodel.reference.record import MAX_FRAGMENT
from tlsmodel.reference.suites import CHACHA20_POLY1305, CipherKind, CipherSuite


def _bad_mac(why: str) -> TLSAlert:
    return TLSAlert(AlertDescription.bad_record_mac, why)


def _check_plaintext_length(plaintext: bytes) -> bytes:
    if len(plaintext) > MAX_FRAGMENT:
        raise TLSAlert(AlertDescription.record_overflow, f"plaintext of {len(plaintext)} bytes")
    return plaintext


_PSEUDO_HEADER = struct.Struct(">QBHH")


def _header(seq: int, content_type: int, version: int, length: int) -> bytes:
    """``seq_num + type + version + length``: the MAC input prefix (RFC 5246 §6.2.3.1) and the
    AEAD additional_data (§6.2.3.3) alike."""
    return _PSEUDO_HEADER.pack(seq, content_type, version, length)


class RecordProtection:
    """The interface: protect and unprotect one record's fragment; count sequence numbers."""

    def __init__(self) -> None:
        self.seq = 0

    def _next_seq(self) -> int:
        seq = self.seq
        self.seq += 1
        return seq

    def encrypt(self, content_type: int, version: int, plaintext: bytes) -> bytes:
        raise NotImplementedError

    def decrypt(self, content_type: int, version: int, fragment: bytes) -> bytes:
        raise NotImplementedError


class NullProtection(RecordProtection):
    """TLS_NULL_WITH_NULL_NULL (RFC 5246 §6.1): the state before the first CCS."""

    def encrypt(self, content_type: int, version: int, plaintext: bytes) -> bytes:
        self._next_seq()
        return plaintext

    def decrypt(self, content_type: int, version: int, fragment: bytes) -> bytes:
        self._next_seq()
        return _check_plaintext_length(fragment)


class AEADProtection(RecordProtection):
    """AEAD records (RFC 5246 §6.2.3.3).

    AES-GCM, RFC 5288 §3: nonce = 4-byte salt (the "IV" from the key block) + 8-byte
    nonce_explicit sent in front of the ciphertext; we use the sequence number as
    nonce_explicit, which is unique per key as §3 requires.
    ChaCha20-Poly1305, RFC 7905 §2: no explicit part; nonce = 12-byte IV XOR the sequence
    number left-padded to 12 bytes.
    """

    def __init__(self, aead: AESGCM | ChaCha20Poly1305, iv: bytes, explicit_nonce: bool) -> None:
        super().__init__()
        self._aead = aead
        self._iv = iv
        self._explicit = explicit_nonce

    def _nonce(self, seq: int, explicit: bytes) -> bytes:
        if self._explicit:
            return self._iv + explicit
        mask = int.from_bytes(self._iv, "big") ^ seq
        return mask.to_bytes(12, "big")

    def encrypt(self, content_type: int, version: int, plaintext: bytes) -> bytes:
        seq = self._next_seq()
        explicit = seq.to_bytes(8, "big") if self._explicit else b""
        aad = _header(seq, content_type, version, len(plaintext))
        return explicit + self._aead.encrypt(self._nonce(seq, explicit), plaintext, aad)

    def decrypt(self, content_type: int, version: int, fragment: bytes) -> bytes:
        seq = self._next_seq()
        explicit_length = 8 if self._explicit else 0
        if len(fragment) < explicit_length + 16:
            raise _bad_mac(f"AEAD record of {len(fragment)} bytes is shorter than nonce + tag")
        explicit = fragment[:explicit_length]
        ciphertext = memoryview(fragment)[explicit_length:]  # no copy of the record body
        aad = _header(seq, content_type, version, len(ciphertext) - 16)
        try:
            plaintext = self._aead.decrypt(self._nonce(seq, explicit), ciphertext, aad)
        except InvalidTag:
            raise _bad_mac("AEAD tag does not verify") from None
        return _check_plaintext_length(plaintext)


class CBCProtection(RecordProtection):
    """AES-CBC with HMAC: MAC-then-encrypt (RFC 5246 §6.2.3.2) or encrypt-then-MAC (RFC 7366).

    TLS 1.2 sends a fresh random IV in front of every record (§6.2.3.2, to stop the BEAST
    chained-IV attack on TLS 1.0).
    """

    def __init__(self, key: bytes, mac_key: bytes, mac_hash: str, *, encrypt_then_mac: bool):
        super().__init__()
        self._key = key
        self._mac = hmac.HMAC(mac_key, hash_for(mac_hash))
        self._mac_length = self._mac.algorithm.digest_size
        self._etm = encrypt_then_mac

    def _compute_mac(self, header: bytes, data: bytes) -> bytes:
        h = self._mac.copy()
        h.update(header + data)
        return h.finalize()

    def _cbc(self, iv: bytes) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(iv))

    @staticmethod
    def _pad(data: bytes) -> bytes:
        """RFC 5246 §6.2.3.2: padding_length+1 bytes, each of value padding_length."""
        pad = 15 - len(data) % 16
        return data + bytes([pad]) * (pad + 1)

    def encrypt(self, content_type: int, version: int, plaintext: bytes) -> bytes:
        seq = self._next_seq()
        iv = os.urandom(16)
        if self._etm:
            # RFC 7366 §3: MAC over seq + header (length of IV+ciphertext) + IV + ciphertext.
            enc = self._cbc(iv).encryptor()
            body = iv + enc.update(self._pad(plaintext)) + enc.finalize()
            return body + self._compute_mac(_header(seq, content_type, version, len(body)), body)
        mac = self._compute_mac(_header(seq, content_type, version, len(plaintext)), plaintext)
        enc = self._cbc(iv).encryptor()
        return iv + enc.update(self._pad(plaintext + mac)) + enc.finalize()

    def decrypt(self, content_type: int, version: int, fragment: bytes) -> bytes:
        seq = self._next_seq()
        if self._etm:
            return self._decrypt_etm(seq, content_type, version, fragment)
        return self._decrypt_mte(seq, content_type, version, fragment)

    def _decrypt_etm(self, seq: int, content_type: int, version: int, fragment: bytes) -> bytes:
        """RFC 7366 §3: check the MAC first; only an authentic record is ever decrypted."""
        if len(fragment) < 32 + self._mac_length or (len(fragment) - self._mac_length) % 16:
            raise _bad_mac("encrypt_then_mac record has an impossible length")
        body, tag = fragment[: -self._mac_length], fragment[-self._mac_length :]
        expected = self._compute_mac(_header(seq, content_type, version, len(body)), body)
        if not constant_time.bytes_eq(tag, expected):
            raise _bad_mac("record MAC does not verify")
        dec = self._cbc(body[:16]).decryptor()
        padded = dec.update(body[16:]) + dec.finalize()
        pad = padded[-1]
        if pad + 1 > len(padded) or padded[-pad - 1 :] != bytes([pad]) * (pad + 1):
            raise _bad_mac("bad CBC padding")
        return _check_plaintext_length(padded[: -pad - 1])

    def _decrypt_mte(self, seq: int, content_type: int, version: int, fragment: bytes) -> bytes:
        """RFC 5246 §6.2.3.2 with its timing advice: a bad pad is treated as a zero-length pad
        and the MAC is still computed and compared, so both failures do the same work and give
        the same alert. (A residual length-dependent timing difference remains; see Lucky 13.)
        """
        mac_length = self._mac_length
        if len(fragment) % 16 or len(fragment) < 16 + ((mac_length + 1 + 15) // 16) * 16:
            raise _bad_mac("CBC record has an impossible length")
        dec = self._cbc(fragment[:16]).decryptor()
        padded = dec.update(fragment[16:]) + dec.finalize()
        pad = padded[-1]
        # Check every byte of the (candidate) padding without an early exit.
        good = pad + 1 + mac_length <= len(padded)
        span = min(pad + 1, len(padded))
        diff = 0
        for byte in padded[len(padded) - span :]:
            diff |= byte ^ pad
        good = good and diff == 0
        content_end = len(padded) - (pad + 1 if good else 1) - mac_length
        content_end = max(content_end, 0)
        content = padded[:content_end]
        tag = padded[content_end : content_end + mac_length]
        expected = self._compute_mac(_header(seq, content_type, version, len(content)), content)
        mac_ok = constant_time.bytes_eq(tag, expected)
        if not (good and mac_ok):
            raise _bad_mac("record MAC or padding does not verify")
        return _check_plaintext_length(content)


def protection_for(
    suite: CipherSuite, key: bytes, mac_key: bytes, iv: bytes, *, encrypt_then_mac: bool
) -> RecordProtection:
    """The protection object for one direction of a suite, from that direction's key block
    parts. ``encrypt_then_mac`` applies only to CBC suites (RFC 7366 §3: it has no meaning for
    AEAD ciphers) and is ignored otherwise."""
    if suite.bulk.kind is CipherKind.AEAD:
        if suite.bulk is CHACHA20_POLY1305:
            return AEADProtection(ChaCha20Poly1305(key), iv, explicit_nonce=False)
        return AEADProtection(AESGCM(key), iv, explicit_nonce=True)
    assert suite.mac is not None
    return CBCProtection(key, mac_key, suite.mac, encrypt_then_mac=encrypt_then_mac)
