"""TLS 1.2 ``digitally-signed`` values: choosing, making and checking signatures.

Used for the ServerKeyExchange parameters (RFC 5246 §7.4.3) and for CertificateVerify
(§7.4.8). In TLS 1.2 the signature algorithm is negotiated per signature with the
signature_algorithms extension (§7.4.1.4.1) and carried in front of each signature; a peer
that did not send the extension is assumed to accept SHA-1 with its key type.

Schemes: RSASSA-PKCS1-v1_5 and RSASSA-PSS with an rsaEncryption key (rsa_pss_rsae_*,
RFC 8446 §4.2.3: MGF1 with the same hash, salt length = hash length), and ECDSA, whose TLS 1.2
meaning is "ECDSA with this hash" on whatever curve the key has (RFC 8422 §5.1.3).
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from tlsmodel.reference.alerts import AlertDescription, TLSAlert, illegal_parameter
from tlsmodel.reference.codec import DigitallySigned, SignatureScheme

S = SignatureScheme
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

# scheme -> (key family, padding kind, hash)
_SCHEMES: dict[int, tuple[str, str, type[hashes.HashAlgorithm]]] = {
    S.rsa_pss_rsae_sha256: ("rsa", "pss", hashes.SHA256),
    S.rsa_pss_rsae_sha384: ("rsa", "pss", hashes.SHA384),
    S.rsa_pss_rsae_sha512: ("rsa", "pss", hashes.SHA512),
    S.rsa_pkcs1_sha256: ("rsa", "pkcs1", hashes.SHA256),
    S.rsa_pkcs1_sha384: ("rsa", "pkcs1", hashes.SHA384),
    S.rsa_pkcs1_sha512: ("rsa", "pkcs1", hashes.SHA512),
    S.rsa_pkcs1_sha1: ("rsa", "pkcs1", hashes.SHA1),
    S.ecdsa_secp256r1_sha256: ("ecdsa", "ecdsa", hashes.SHA256),
    S.ecdsa_secp384r1_sha384: ("ecdsa", "ecdsa", hashes.SHA384),
    S.ecdsa_secp521r1_sha512: ("ecdsa", "ecdsa", hashes.SHA512),
    S.ecdsa_sha1: ("ecdsa", "ecdsa", hashes.SHA1),
}

# Our preference order per key family (strongest first; SHA-1 last, only as the §7.4.1.4.1
# default for peers that send no signature_algorithms).
_PREFERENCE = {
    "rsa": (
        S.rsa_pss_rsae_sha256,
        S.rsa_pss_rsae_sha384,
        S.rsa_pss_rsae_sha512,
        S.rsa_pkcs1_sha256,
        S.rsa_pkcs1_sha384,
        S.rsa_pkcs1_sha512,
        S.rsa_pkcs1_sha1,
    ),
    "ecdsa": (
        S.ecdsa_secp256r1_sha256,
        S.ecdsa_secp384r1_sha384,
        S.ecdsa_secp521r1_sha512,
        S.ecdsa_sha1,
    ),
}

# What we offer in signature_algorithms / CertificateRequest (SHA-1 not offered).
OFFERED_SCHEMES: tuple[SignatureScheme, ...] = tuple(
    s for family in ("ecdsa", "rsa") for s in _PREFERENCE[family] if "sha1" not in s.name
)


def _family(key: PrivateKey | PublicKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "rsa"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "ecdsa"
    raise TLSAlert(AlertDescription.unsupported_certificate, f"unsupported key {type(key)}")


_CURVE_HASH = {
    "secp256r1": S.ecdsa_secp256r1_sha256,
    "secp384r1": S.ecdsa_secp384r1_sha384,
    "secp521r1": S.ecdsa_secp521r1_sha512,
}


def schemes_for_key(key: PrivateKey | PublicKey) -> tuple[SignatureScheme, ...]:
    """The schemes we can sign (or verify) with this key, most preferred first.

    For ECDSA the hash that matches the curve's strength comes first (the pairing TLS 1.3
    makes mandatory, RFC 8446 §4.2.3), then the others TLS 1.2 also allows.
    """
    preference = _PREFERENCE[_family(key)]
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        matching = _CURVE_HASH.get(key.curve.name)
        if matching is not None:
            return (matching, *(s for s in preference if s != matching))
    return preference


def choose_scheme(key: PrivateKey, peer_schemes: tuple[int, ...] | None) -> SignatureScheme:
    """Pick the scheme for our next signature.

    ``peer_schemes=None``: the peer sent no signature_algorithms, so RFC 5246 §7.4.1.4.1 says
    to behave as if it sent {sha1, rsa} or {sha1, ecdsa}. No common scheme: handshake_failure.
    """
    family = _family(key)
    if peer_schemes is None:
        return S.rsa_pkcs1_sha1 if family == "rsa" else S.ecdsa_sha1
    for scheme in schemes_for_key(key):
        if scheme in peer_schemes:
            return scheme
    raise TLSAlert(AlertDescription.handshake_failure, "no common signature scheme")


def sign(key: PrivateKey, scheme: int, data: bytes) -> DigitallySigned:
    """Sign ``data`` (cryptography hashes it with the scheme's hash)."""
    family, kind, hash_cls = _SCHEMES[scheme]
    if family != _family(key):
        raise ValueError(f"scheme {scheme:#06x} does not fit a {_family(key)} key")
    if isinstance(key, rsa.RSAPrivateKey):
        return DigitallySigned(scheme, key.sign(data, _rsa_padding(kind, hash_cls), hash_cls()))
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return DigitallySigned(scheme, key.sign(data, ec.ECDSA(hash_cls())))


def _rsa_padding(kind: str, hash_cls: type[hashes.HashAlgorithm]) -> padding.AsymmetricPadding:
    if kind == "pss":
        return padding.PSS(mgf=padding.MGF1(hash_cls()), salt_length=hash_cls.digest_size)
    return padding.PKCS1v15()


def verify(
    public_key: PublicKey, signed: DigitallySigned, data: bytes, allowed: tuple[int, ...]
) -> None:
    """Check a peer's signature.

    A scheme we did not offer, or one that does not fit the certificate's key, is an
    illegal_parameter (RFC 5246 §7.4.3: the algorithm "MUST be one of those present in the
    supported_signature_algorithms"); a signature that does not verify is decrypt_error
    (§7.2.2: "a handshake cryptographic operation failed, including being unable to correctly
    verify a signature").
    """
    if signed.scheme not in allowed or signed.scheme not in _SCHEMES:
        raise illegal_parameter(f"signature scheme {signed.scheme:#06x} was not offered")
    family, kind, hash_cls = _SCHEMES[signed.scheme]
    if family != _family(public_key):
        raise illegal_parameter(f"signature scheme {signed.scheme:#06x} does not fit the key")
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signed.signature, data, _rsa_padding(kind, hash_cls), hash_cls())
        else:
            public_key.verify(signed.signature, data, ec.ECDSA(hash_cls()))
    except InvalidSignature:
        raise TLSAlert(AlertDescription.decrypt_error, "signature does not verify") from None
