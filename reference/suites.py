"""The TLS 1.2 cipher suites the reference implements, as data.

A suite fixes four things (RFC 5246 §6.1, Appendix A.5): the key exchange, the bulk cipher, the
record MAC (none for AEAD ciphers) and the PRF hash. Everything else in the reference reads
these fields instead of switching on suite names, so adding a suite is one table row.

Code points are the IANA "TLS Cipher Suites" registry values; the OpenSSL names are those
``openssl ciphers -V`` prints, accepted as aliases so users can paste either spelling.
PRF hash: SHA-256 unless the suite name ends in SHA384 (RFC 5246 §5, RFC 5289 §3.2 / §3.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class KeyExchangeKind(Enum):
    """How the pre-master secret is agreed and what authenticates the server."""

    RSA = "RSA"  # RFC 5246 §7.4.7.1: key transport under the certificate's RSA key
    DHE_RSA = "DHE_RSA"  # RFC 5246 §7.4.3 + RFC 7919 groups, params signed with RSA
    ECDHE_RSA = "ECDHE_RSA"  # RFC 8422 §2, params signed with RSA
    ECDHE_ECDSA = "ECDHE_ECDSA"  # RFC 8422 §2, params signed with ECDSA

    @property
    def ephemeral(self) -> bool:
        """True when the server sends (signed) ephemeral parameters in a ServerKeyExchange."""
        return self is not KeyExchangeKind.RSA

    @property
    def signature_key(self) -> str:
        """The key type of the server certificate: ``"rsa"`` or ``"ecdsa"``."""
        return "ecdsa" if self is KeyExchangeKind.ECDHE_ECDSA else "rsa"


class CipherKind(Enum):
    """RFC 5246 §6.2.3: the two record protection shapes a TLS 1.2 suite can use here."""

    AEAD = "aead"
    CBC = "cbc"


@dataclass(frozen=True, slots=True)
class BulkCipher:
    """Sizes from RFC 5246 Appendix C, RFC 5288 §3, RFC 7905 §2."""

    name: str
    kind: CipherKind
    key_length: int
    fixed_iv_length: int  # salt (GCM: 4, ChaCha20: 12) or 0 for CBC (TLS 1.2 uses explicit IVs)
    record_iv_length: int  # explicit per-record nonce/IV carried on the wire
    block_size: int  # 0 for AEAD
    tag_length: int  # 0 for CBC


AES_128_GCM = BulkCipher("AES_128_GCM", CipherKind.AEAD, 16, 4, 8, 0, 16)
AES_256_GCM = BulkCipher("AES_256_GCM", CipherKind.AEAD, 32, 4, 8, 0, 16)
CHACHA20_POLY1305 = BulkCipher("CHACHA20_POLY1305", CipherKind.AEAD, 32, 12, 0, 0, 16)
AES_128_CBC = BulkCipher("AES_128_CBC", CipherKind.CBC, 16, 0, 16, 16, 0)
AES_256_CBC = BulkCipher("AES_256_CBC", CipherKind.CBC, 32, 0, 16, 16, 0)

_MAC_LENGTHS = {"sha1": 20, "sha256": 32, "sha384": 48}


@dataclass(frozen=True, slots=True)
class CipherSuite:
    """One row of the table: the IANA code point and what it means."""

    code: int
    iana: str
    openssl: str
    kx: KeyExchangeKind
    bulk: BulkCipher
    mac: str | None  # HMAC hash for CBC suites; None for AEAD
    prf_hash: str

    @property
    def is_aead(self) -> bool:
        return self.bulk.kind is CipherKind.AEAD

    @property
    def mac_length(self) -> int:
        """Length of the HMAC key and tag (0 for AEAD suites, RFC 5246 §6.3)."""
        return _MAC_LENGTHS[self.mac] if self.mac else 0


def _suite(code: int, iana: str, openssl: str) -> CipherSuite:
    """Derive the row from the IANA name, so the name and the parameters cannot disagree."""
    kx_part, _, cipher_part = iana.removeprefix("TLS_").partition("_WITH_")
    kx = KeyExchangeKind(kx_part)
    bulk_name, _, tail = cipher_part.rpartition("_")
    bulk = {
        "AES_128_GCM": AES_128_GCM,
        "AES_256_GCM": AES_256_GCM,
        "CHACHA20_POLY1305": CHACHA20_POLY1305,
        "AES_128_CBC": AES_128_CBC,
        "AES_256_CBC": AES_256_CBC,
    }[bulk_name]
    hash_name = {"SHA": "sha1", "SHA256": "sha256", "SHA384": "sha384"}[tail]
    mac = None if bulk.kind is CipherKind.AEAD else hash_name
    prf = "sha384" if hash_name == "sha384" else "sha256"
    return CipherSuite(code, iana, openssl, kx, bulk, mac, prf)


# Preference order: forward secrecy first, AEAD before CBC, ECDSA-signed before RSA-signed.
SUITES: tuple[CipherSuite, ...] = (
    _suite(0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"),
    _suite(0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"),
    _suite(
        0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"
    ),
    _suite(0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"),
    _suite(0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"),
    _suite(0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"),
    _suite(0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "DHE-RSA-AES128-GCM-SHA256"),
    _suite(0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "DHE-RSA-AES256-GCM-SHA384"),
    _suite(0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "DHE-RSA-CHACHA20-POLY1305"),
    _suite(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"),
    _suite(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"),
    _suite(0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256"),
    _suite(0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "ECDHE-ECDSA-AES256-SHA384"),
    _suite(0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"),
    _suite(0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"),
    _suite(0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256"),
    _suite(0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "ECDHE-RSA-AES256-SHA384"),
    _suite(0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"),
    _suite(0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"),
    _suite(0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", "DHE-RSA-AES128-SHA256"),
    _suite(0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "DHE-RSA-AES256-SHA256"),
    _suite(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", "DHE-RSA-AES128-SHA"),
    _suite(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "DHE-RSA-AES256-SHA"),
    _suite(0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256"),
    _suite(0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", "AES256-SHA256"),
    _suite(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"),
    _suite(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"),
)

# RFC 5746 §3.3: signalling value a client may send instead of an empty renegotiation_info.
TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF
# RFC 7507 §6: sent by a client that fell back to a lower version.
TLS_FALLBACK_SCSV = 0x5600

_BY_CODE = {s.code: s for s in SUITES}
_BY_NAME = {n.upper(): s for s in SUITES for n in (s.iana, s.openssl)}


def suite_by_code(code: int) -> CipherSuite | None:
    """The suite for an IANA code point, or None if the reference does not implement it."""
    return _BY_CODE.get(code)


def suite_by_name(name: str) -> CipherSuite:
    """Look a suite up by IANA or OpenSSL name (case-insensitive); KeyError if unknown."""
    try:
        return _BY_NAME[name.strip().upper()]
    except KeyError:
        raise KeyError(f"unknown cipher suite {name.strip()!r}") from None


def parse_suite_list(text: str) -> tuple[CipherSuite, ...]:
    """Parse a comma-separated list of suite names, keeping order and dropping repeats."""
    result: list[CipherSuite] = []
    for part in text.split(","):
        if not part.strip():
            continue
        suite = suite_by_name(part)
        if suite not in result:
            result.append(suite)
    if not result:
        raise KeyError("empty cipher suite list")
    return tuple(result)
