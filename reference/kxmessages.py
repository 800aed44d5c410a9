"""The handshake messages whose shape depends on the key exchange (RFC 5246 §7.4.3, §7.4.7;
RFC 8422 §5.4, §5.7), and the ``digitally-signed`` structure they and CertificateVerify carry.

Neither ServerKeyExchange nor ClientKeyExchange says which form it has: the negotiated cipher
suite does. So their decoders take the ``KeyExchangeKind``; ``codec.decode_handshake`` calls
them only once a suite is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from tlsmodel.reference.alerts import illegal_parameter
from tlsmodel.reference.registry import HandshakeType
from tlsmodel.reference.suites import KeyExchangeKind
from tlsmodel.reference.wire import Reader, uint, vector

_NAMED_CURVE = 3  # RFC 8422 §5.4: ECCurveType named_curve(3); explicit curves are deprecated


@dataclass(frozen=True, slots=True)
class DigitallySigned:
    """RFC 5246 §4.7: ``SignatureAndHashAlgorithm algorithm; opaque signature<0..2^16-1>``."""

    scheme: int
    signature: bytes

    def encode(self) -> bytes:
        return uint(self.scheme, 2) + vector(self.signature, 2)

    @classmethod
    def decode(cls, r: Reader) -> DigitallySigned:
        return cls(scheme=r.uint(2), signature=r.vector(2))


@dataclass(frozen=True, slots=True)
class ServerDHParams:
    """RFC 5246 §7.4.3: big-endian p, g and the server's public value Ys."""

    p: bytes
    g: bytes
    ys: bytes

    def encode(self) -> bytes:
        return vector(self.p, 2) + vector(self.g, 2) + vector(self.ys, 2)

    @classmethod
    def decode(cls, r: Reader) -> ServerDHParams:
        return cls(p=r.vector(2, 1), g=r.vector(2, 1), ys=r.vector(2, 1))


@dataclass(frozen=True, slots=True)
class ServerECDHParams:
    """RFC 8422 §5.4: ``ECParameters curve_params; ECPoint public`` (named curves only)."""

    named_curve: int
    point: bytes

    def encode(self) -> bytes:
        return uint(_NAMED_CURVE, 1) + uint(self.named_curve, 2) + vector(self.point, 1)

    @classmethod
    def decode(cls, r: Reader) -> ServerECDHParams:
        curve_type = r.uint(1)
        if curve_type != _NAMED_CURVE:
            raise illegal_parameter(f"ECParameters: curve_type {curve_type} is not named_curve")
        return cls(named_curve=r.uint(2), point=r.vector(1, 1))


@dataclass(frozen=True, slots=True)
class ServerKeyExchange:
    """RFC 5246 §7.4.3: ephemeral parameters signed over client_random + server_random + params."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.server_key_exchange
    params: ServerDHParams | ServerECDHParams
    signed: DigitallySigned

    def encode_body(self) -> bytes:
        return self.params.encode() + self.signed.encode()


@dataclass(frozen=True, slots=True)
class EncryptedPreMasterSecret:
    """RFC 5246 §7.4.7.1: the RSA-encrypted PreMasterSecret (TLS 1.2 keeps the length prefix)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.client_key_exchange
    ciphertext: bytes

    def encode_body(self) -> bytes:
        return vector(self.ciphertext, 2)


@dataclass(frozen=True, slots=True)
class ClientDHPublic:
    """RFC 5246 §7.4.7.2: explicit ``opaque dh_Yc<1..2^16-1>``."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.client_key_exchange
    yc: bytes

    def encode_body(self) -> bytes:
        return vector(self.yc, 2)


@dataclass(frozen=True, slots=True)
class ClientECDHPublic:
    """RFC 8422 §5.7: ``ECPoint ecdh_Yc`` = ``opaque point <1..2^8-1>``."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.client_key_exchange
    point: bytes

    def encode_body(self) -> bytes:
        return vector(self.point, 1)


ClientKeyExchange = EncryptedPreMasterSecret | ClientDHPublic | ClientECDHPublic


def decode_server_key_exchange(r: Reader, kx: KeyExchangeKind) -> ServerKeyExchange:
    params: ServerDHParams | ServerECDHParams
    if kx is KeyExchangeKind.DHE_RSA:
        params = ServerDHParams.decode(r)
    else:
        params = ServerECDHParams.decode(r)
    signed = DigitallySigned.decode(r)
    r.end()
    return ServerKeyExchange(params, signed)


def decode_client_key_exchange(r: Reader, kx: KeyExchangeKind) -> ClientKeyExchange:
    msg: ClientKeyExchange
    if kx is KeyExchangeKind.RSA:
        msg = EncryptedPreMasterSecret(r.vector(2))
    elif kx is KeyExchangeKind.DHE_RSA:
        msg = ClientDHPublic(r.vector(2, 1))
    else:
        msg = ClientECDHPublic(r.vector(1, 1))
    r.end()
    return msg
