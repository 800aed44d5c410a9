"""IANA code points the reference uses: versions, content and handshake types, groups,
signature schemes and client certificate types.

Kept apart from the codecs so that every module can name a code point without importing the
message classes (the key-exchange messages and the main codec both need HandshakeType).
"""

from __future__ import annotations

from enum import IntEnum

TLS1_2 = 0x0303
VERIFY_DATA_LENGTH = 12  # RFC 5246 §7.4.9: verify_data_length defaults to 12 for all suites


class ContentType(IntEnum):
    """RFC 5246 §6.2.1."""

    change_cipher_spec = 20
    alert = 21
    handshake = 22
    application_data = 23


class HandshakeType(IntEnum):
    """RFC 5246 §7.4, RFC 5077 §3.3 (new_session_ticket), RFC 6066 §8 (certificate_status)."""

    hello_request = 0
    client_hello = 1
    server_hello = 2
    new_session_ticket = 4
    certificate = 11
    server_key_exchange = 12
    certificate_request = 13
    server_hello_done = 14
    certificate_verify = 15
    client_key_exchange = 16
    finished = 20
    certificate_status = 22


class NamedGroup(IntEnum):
    """RFC 8422 §5.1.1 and RFC 7919 §2 code points that the reference implements."""

    secp256r1 = 23
    secp384r1 = 24
    x25519 = 29
    ffdhe2048 = 256
    ffdhe3072 = 257


class SignatureScheme(IntEnum):
    """TLS 1.2 SignatureAndHashAlgorithm (RFC 5246 §7.4.1.4.1) as the 16-bit RFC 8446 names.

    In TLS 1.2 the ECDSA values name only the hash, not the curve (RFC 8422 §5.1.3), and
    rsa_pss_rsae_* (RFC 8446 §4.2.3) is usable in TLS 1.2 with an rsaEncryption key.
    """

    rsa_pkcs1_sha1 = 0x0201
    ecdsa_sha1 = 0x0203
    rsa_pkcs1_sha256 = 0x0401
    ecdsa_secp256r1_sha256 = 0x0403
    rsa_pkcs1_sha384 = 0x0501
    ecdsa_secp384r1_sha384 = 0x0503
    rsa_pkcs1_sha512 = 0x0601
    ecdsa_secp521r1_sha512 = 0x0603
    rsa_pss_rsae_sha256 = 0x0804
    rsa_pss_rsae_sha384 = 0x0805
    rsa_pss_rsae_sha512 = 0x0806


class ClientCertificateType(IntEnum):
    """RFC 5246 §7.4.4 / RFC 8422 §5.5."""

    rsa_sign = 1
    ecdsa_sign = 64
