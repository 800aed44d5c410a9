"""``ServerRSAParams`` (RFC 2246 §7.4.3, export RSA): only for the FREAK fault and its test.

TLS 1.2 has no ServerKeyExchange for RSA key transport, so the codec rightly leaves such a
message opaque. The ACCEPT_RSA_SERVER_KEY_EXCHANGE fault reproduces clients that nevertheless
took the temporary RSA key from it (FREAK, CVE-2015-0204); a test's deviant server builds one
with ``encode_rsa_server_key_exchange``. Kept apart so the conforming path never sees it.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import rsa
from tlsmodel.reference.alerts import illegal_parameter
from tlsmodel.reference.codec import DigitallySigned
from tlsmodel.reference.signatures import PrivateKey, sign, verify
from tlsmodel.reference.wire import Reader, vector


def _params(key: rsa.RSAPublicKey) -> bytes:
    numbers = key.public_numbers()
    modulus = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    exponent = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    return vector(modulus, 2) + vector(exponent, 2)


def encode_rsa_server_key_exchange(
    temporary: rsa.RSAPublicKey, signer: PrivateKey, scheme: int, randoms: bytes
) -> bytes:
    """The body of an export-style ServerKeyExchange, signed over randoms + params."""
    params = _params(temporary)
    return params + sign(signer, scheme, randoms + params).encode()


def verify_rsa_server_key_exchange(
    body: bytes,
    certificate_key: rsa.RSAPublicKey,
    client_random: bytes,
    server_random: bytes,
    allowed: tuple[int, ...],
) -> rsa.RSAPublicKey:
    """Parse the body, check the signature with the certificate key, return the temporary key."""
    r = Reader(body, "ServerRSAParams")
    modulus = r.vector(2, 1)
    exponent = r.vector(2, 1)
    signed = DigitallySigned.decode(r)
    r.end()
    params = vector(modulus, 2) + vector(exponent, 2)
    verify(certificate_key, signed, client_random + server_random + params, allowed)
    n, e = int.from_bytes(modulus, "big"), int.from_bytes(exponent, "big")
    try:
        return rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError as exc:
        raise illegal_parameter(f"bad RSA parameters: {exc}") from None
