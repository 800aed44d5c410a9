"""Key exchange strategies: one class per way of agreeing the pre-master secret.

The pattern is tlslite-ng's: every key exchange answers the same four questions, so the engine
and the connection never switch on the suite —

- server: ``server_params()`` (the ephemeral parameters to sign, or None for RSA) and
  ``process_client_key_exchange(msg)`` (→ pre-master secret);
- client: ``process_server_params(params)`` (validate the peer's parameters) and
  ``client_key_exchange()`` (→ the message to send and the pre-master secret).

Validation of peer values lives here, each with its RFC: RSA's Bleichenbacher countermeasure
(RFC 5246 §7.4.7.1), DH group size and public value range (RFC 7919 §3, §5.1), EC point
decoding and the X25519 all-zero check (RFC 8422 §5.11).
"""

from __future__ import annotations

import os
import warnings
from abc import ABC, abstractmethod

from cryptography.hazmat.primitives import constant_time
from cryptography.hazmat.primitives.asymmetric import dh, ec, padding, rsa, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from tlsmodel.reference.alerts import AlertDescription, TLSAlert, illegal_parameter
from tlsmodel.reference.codec import (
    TLS1_2,
    ClientDHPublic,
    ClientECDHPublic,
    ClientKeyExchange,
    EncryptedPreMasterSecret,
    NamedGroup,
    ServerDHParams,
    ServerECDHParams,
)
from tlsmodel.reference.suites import CipherSuite, KeyExchangeKind

ServerParams = ServerDHParams | ServerECDHParams

MIN_DH_BITS = 2048
MAX_DH_BITS = 8192  # the largest RFC 7919 group; bounds the work a server can demand


def _rfc7919_prime(bits: int, x: int) -> int:
    """RFC 7919 Appendix A: ``p = 2^b - 2^{b-64} + {[2^{b-130} e] + X} * 2^64 - 1``.

    ``[2^{b-130} e]`` is computed exactly enough with integer arithmetic: the series
    sum(1/k!) scaled by 2^(b-130) with 64 guard bits (the truncation error of the summed
    terms stays far below one guard unit). The tests compare the result with OpenSSL's
    built-in ffdhe groups.
    """
    guard = 64
    scale = 1 << (bits - 130 + guard)
    total, term, k = 0, scale, 0
    while term:
        total += term
        k += 1
        term //= k
    return 2**bits - 2 ** (bits - 64) + ((total >> guard) + x) * 2**64 - 1


# RFC 7919 §A.1 (X = 560316) and §A.2 (X = 2625351); generator 2 for both.
FFDHE_PRIMES: dict[int, int] = {
    NamedGroup.ffdhe2048: _rfc7919_prime(2048, 560316),
    NamedGroup.ffdhe3072: _rfc7919_prime(3072, 2625351),
}
FFDHE_GENERATOR = 2


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")


class KeyExchange(ABC):
    """One key exchange, seen from either side (each side uses two of the four methods)."""

    @abstractmethod
    def server_params(self) -> ServerParams | None:
        """Server: the ephemeral parameters for ServerKeyExchange (None: none is sent)."""

    @abstractmethod
    def process_client_key_exchange(self, msg: ClientKeyExchange) -> bytes:
        """Server: the pre-master secret from the client's message."""

    @abstractmethod
    def process_server_params(self, params: ServerParams | None) -> None:
        """Client: validate and keep the server's parameters."""

    @abstractmethod
    def client_key_exchange(self) -> tuple[ClientKeyExchange, bytes]:
        """Client: the ClientKeyExchange to send and the pre-master secret."""


class RSAKeyExchange(KeyExchange):
    """RSA key transport (RFC 5246 §7.4.7.1, §8.1.1)."""

    def __init__(
        self,
        *,
        private_key: rsa.RSAPrivateKey | None = None,
        server_public_key: rsa.RSAPublicKey | None = None,
        client_version: int = TLS1_2,
    ) -> None:
        self._private_key = private_key
        self._public_key = server_public_key
        self._client_version = client_version

    def server_params(self) -> None:
        return None

    def process_client_key_exchange(self, msg: ClientKeyExchange) -> bytes:
        """RFC 5246 §7.4.7.1, the Bleichenbacher countermeasure, step by step:

        1. generate R, 48 random bytes, *before* looking at the ciphertext;
        2. decrypt the message to recover M;
        3. use M only if the padding was correct, M is 48 bytes and M[0..1] is the
           ClientHello.client_version; otherwise use R. No alert is raised here either way:
           a wrong pre-master secret surfaces later as a Finished that does not verify.

        The choice in step 3 is made by masking, not by branching, so nothing observable
        depends on which case occurred. With OpenSSL ≥ 3.2 (implicit rejection) ``decrypt``
        never fails on bad padding but returns a pseudo-random message instead; older
        builds raise ValueError, which is folded into the same masked selection.
        """
        if self._private_key is None:
            raise ValueError("RSAKeyExchange: server side needs the private key")
        if not isinstance(msg, EncryptedPreMasterSecret):
            raise illegal_parameter("RSA key exchange needs an EncryptedPreMasterSecret")
        fallback = os.urandom(48)
        try:
            decrypted = self._private_key.decrypt(msg.ciphertext, padding.PKCS1v15())
        except ValueError:
            decrypted = b""
        candidate = (decrypted + bytes(48))[:48]
        length_ok = constant_time.bytes_eq(
            len(decrypted).to_bytes(4, "big"), (48).to_bytes(4, "big")
        )
        version_ok = constant_time.bytes_eq(candidate[:2], self._client_version.to_bytes(2, "big"))
        mask = -int(length_ok & version_ok) & ((1 << 384) - 1)
        chosen = (int.from_bytes(candidate, "big") & mask) | (
            int.from_bytes(fallback, "big") & ~mask & ((1 << 384) - 1)
        )
        return chosen.to_bytes(48, "big")

    def process_server_params(self, params: ServerParams | None) -> None:
        if params is not None:
            raise TLSAlert(AlertDescription.unexpected_message, "RSA key exchange has no params")

    def client_key_exchange(self) -> tuple[ClientKeyExchange, bytes]:
        """RFC 5246 §7.4.7.1: ``client_version`` (the version offered, not negotiated) + 46
        random bytes, encrypted with RSAES-PKCS1-v1_5 under the certificate's key."""
        if self._public_key is None:
            raise ValueError("RSAKeyExchange: client side needs the server's public key")
        pre_master = self._client_version.to_bytes(2, "big") + os.urandom(46)
        ciphertext = self._public_key.encrypt(pre_master, padding.PKCS1v15())
        return EncryptedPreMasterSecret(ciphertext), pre_master


class DHEKeyExchange(KeyExchange):
    """Ephemeral finite-field Diffie-Hellman (RFC 5246 §8.1.2) over RFC 7919 groups.

    cryptography marks FFDH as deprecated; TLS 1.2 DHE suites need it, so its deprecation
    warning is silenced around the calls that emit it.
    """

    def __init__(self, group: int | None = None) -> None:
        if group is not None and group not in FFDHE_PRIMES:
            raise ValueError(f"unsupported DH group {group}")
        self._p = FFDHE_PRIMES[group] if group is not None else 0
        self._g = FFDHE_GENERATOR
        self._private: dh.DHPrivateKey | None = None
        self._peer_y = 0

    def _key(self) -> dh.DHPrivateKey:
        if self._private is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                params = dh.DHParameterNumbers(self._p, self._g).parameters()
                self._private = params.generate_private_key()
        return self._private

    def _check_peer_y(self, y: int) -> None:
        """RFC 7919 §5.1: the peer's public value must satisfy 1 < Y < p - 1; for the known
        safe-prime groups also Y^q = 1 mod p with q = (p-1)/2 (it lies in the prime-order
        subgroup), which rules out small-subgroup confinement."""
        if not 1 < y < self._p - 1:
            raise illegal_parameter("DH public value out of range")
        if self._p in FFDHE_PRIMES.values() and pow(y, (self._p - 1) // 2, self._p) != 1:
            raise illegal_parameter("DH public value not in the prime-order subgroup")

    def _shared(self, peer_y: int) -> bytes:
        """RFC 5246 §8.1.2: "Leading bytes of Z that contain all zero bits are stripped"."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pn = dh.DHParameterNumbers(self._p, self._g)
                peer = dh.DHPublicNumbers(peer_y, pn).public_key()
                z = self._key().exchange(peer)
        except ValueError as exc:  # OpenSSL's own checks of the public value
            raise illegal_parameter(f"DH public value rejected: {exc}") from None
        return z.lstrip(b"\x00")

    def _public_bytes(self) -> bytes:
        return _int_bytes(self._key().public_key().public_numbers().y)

    def server_params(self) -> ServerDHParams:
        if not self._p:
            raise ValueError("DHEKeyExchange: server side needs a group")
        return ServerDHParams(_int_bytes(self._p), _int_bytes(self._g), self._public_bytes())

    def process_client_key_exchange(self, msg: ClientKeyExchange) -> bytes:
        if not isinstance(msg, ClientDHPublic):
            raise illegal_parameter("DHE key exchange needs a ClientDiffieHellmanPublic")
        y = int.from_bytes(msg.yc, "big")
        self._check_peer_y(y)
        return self._shared(y)

    def process_server_params(self, params: ServerParams | None) -> None:
        """RFC 7919 §3/§4: refuse groups under 2048 bits with insufficient_security."""
        if not isinstance(params, ServerDHParams):
            raise illegal_parameter("DHE key exchange needs ServerDHParams")
        p = int.from_bytes(params.p, "big")
        g = int.from_bytes(params.g, "big")
        if p.bit_length() < MIN_DH_BITS:
            raise TLSAlert(
                AlertDescription.insufficient_security, f"DH group of {p.bit_length()} bits"
            )
        if p.bit_length() > MAX_DH_BITS or p % 2 == 0 or not 1 < g < p - 1:
            raise illegal_parameter("DH parameters are not a usable group")
        self._p, self._g = p, g
        self._private = None
        try:
            self._key()  # OpenSSL checks the parameters (p prime, g usable) when keying
        except ValueError as exc:
            raise illegal_parameter(f"DH parameters rejected: {exc}") from None
        self._peer_y = int.from_bytes(params.ys, "big")
        self._check_peer_y(self._peer_y)

    def client_key_exchange(self) -> tuple[ClientKeyExchange, bytes]:
        if not self._peer_y:
            raise ValueError("DHEKeyExchange: no server parameters processed")
        return ClientDHPublic(self._public_bytes()), self._shared(self._peer_y)


_CURVES: dict[int, type[ec.EllipticCurve]] = {
    NamedGroup.secp256r1: ec.SECP256R1,
    NamedGroup.secp384r1: ec.SECP384R1,
}
ECDHE_GROUPS: tuple[int, ...] = (NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1)
DHE_GROUPS: tuple[int, ...] = (NamedGroup.ffdhe2048, NamedGroup.ffdhe3072)


def _group_of(key: x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey) -> int:
    if isinstance(key, x25519.X25519PrivateKey):
        return NamedGroup.x25519
    return {"secp256r1": NamedGroup.secp256r1, "secp384r1": NamedGroup.secp384r1}.get(
        key.curve.name, -1
    )


class ECDHEKeyExchange(KeyExchange):
    """Ephemeral ECDH (RFC 8422) on x25519, secp256r1 or secp384r1, uncompressed points."""

    def __init__(
        self,
        group: int | None = None,
        *,
        private_key: x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey | None = None,
    ) -> None:
        """``private_key`` fixes the ephemeral key (known-answer tests, reproducible traces);
        by default a fresh one is generated for the group when first needed."""
        if group is not None and group not in ECDHE_GROUPS:
            raise ValueError(f"unsupported curve {group}")
        self._group = group
        self._private = private_key
        self._peer_point = b""

    def _key(self) -> x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey:
        if self._private is None:
            if self._group == NamedGroup.x25519:
                self._private = x25519.X25519PrivateKey.generate()
            else:
                assert self._group is not None
                self._private = ec.generate_private_key(_CURVES[self._group]())
        return self._private

    def _public_point(self) -> bytes:
        key = self._key()
        if isinstance(key, x25519.X25519PrivateKey):
            return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def _shared(self, point: bytes) -> bytes:
        """RFC 8422 §5.10: the premaster is the x-coordinate (X25519: the 32-byte output).
        An undecodable point, a compressed one (we advertise uncompressed only) or an
        X25519 result of all zeros (§5.11) is illegal_parameter."""
        key = self._key()
        try:
            if isinstance(key, x25519.X25519PrivateKey):
                if len(point) != 32:
                    raise ValueError("X25519 public value must be 32 bytes")
                shared = key.exchange(x25519.X25519PublicKey.from_public_bytes(point))
                if not any(shared):
                    raise ValueError("X25519 shared secret is all zeros")
                return shared
            if not point or point[0] != 4:
                raise ValueError("only uncompressed points are accepted")
            peer = ec.EllipticCurvePublicKey.from_encoded_point(key.curve, point)
            return key.exchange(ec.ECDH(), peer)
        except ValueError as exc:
            raise illegal_parameter(f"bad ECDH public value: {exc}") from None

    def server_params(self) -> ServerECDHParams:
        if self._group is None:
            raise ValueError("ECDHEKeyExchange: server side needs a group")
        return ServerECDHParams(self._group, self._public_point())

    def process_client_key_exchange(self, msg: ClientKeyExchange) -> bytes:
        if not isinstance(msg, ClientECDHPublic):
            raise illegal_parameter("ECDHE key exchange needs a ClientECDiffieHellmanPublic")
        return self._shared(msg.point)

    def process_server_params(self, params: ServerParams | None) -> None:
        if not isinstance(params, ServerECDHParams):
            raise illegal_parameter("ECDHE key exchange needs ServerECDHParams")
        if params.named_curve not in ECDHE_GROUPS:
            raise illegal_parameter(f"unsupported named curve {params.named_curve}")
        if self._private is not None and _group_of(self._private) != params.named_curve:
            self._private = None  # a key fixed in advance for another curve cannot be used
        self._group = params.named_curve
        self._peer_point = params.point
        if self._group != NamedGroup.x25519:
            # Decode now so that a bad point is reported on the ServerKeyExchange.
            try:
                if params.point[0] != 4:
                    raise ValueError("only uncompressed points are accepted")
                ec.EllipticCurvePublicKey.from_encoded_point(_CURVES[self._group](), params.point)
            except (ValueError, IndexError) as exc:
                raise illegal_parameter(f"bad ECDH public value: {exc}") from None
        elif len(params.point) != 32:
            raise illegal_parameter("X25519 public value must be 32 bytes")

    def client_key_exchange(self) -> tuple[ClientKeyExchange, bytes]:
        if not self._peer_point:
            raise ValueError("ECDHEKeyExchange: no server parameters processed")
        shared = self._shared(self._peer_point)
        return ClientECDHPublic(self._public_point()), shared


def key_exchange_for(
    suite: CipherSuite,
    *,
    group: int | None = None,
    private_key: rsa.RSAPrivateKey | None = None,
    server_public_key: rsa.RSAPublicKey | None = None,
    client_version: int = TLS1_2,
) -> KeyExchange:
    """The strategy for a suite. Server: pass ``group`` (DHE/ECDHE) or ``private_key`` (RSA);
    client: pass ``server_public_key`` (RSA) and, for RSA, the ClientHello's client_version."""
    if suite.kx is KeyExchangeKind.RSA:
        return RSAKeyExchange(
            private_key=private_key,
            server_public_key=server_public_key,
            client_version=client_version,
        )
    if suite.kx is KeyExchangeKind.DHE_RSA:
        return DHEKeyExchange(group)
    return ECDHEKeyExchange(group)
