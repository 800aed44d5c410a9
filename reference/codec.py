"""Strict encoders and decoders for the TLS 1.2 handshake messages, CCS and alerts.

Structures follow RFC 5246 §7.4 (and RFC 5077 §3.3 NewSessionTicket, RFC 6066 §8
CertificateStatus, RFC 8422 §5.4/§5.7 ECDHE, RFC 7919 for DHE). Decoding rules:

- a length prefix out of its ``<floor..ceiling>``, a truncated field or trailing bytes:
  ``decode_error`` (RFC 5246 §7.2.2);
- a well-formed value that is not allowed (unknown ECCurveType, a CCS byte other than 1,
  an unknown alert level): ``illegal_parameter``;
- an unknown HandshakeType: ``unexpected_message`` — there is no message it could be.

Values that the peer may legitimately send but we do not implement — cipher suites, groups,
signature schemes, extension types — stay plain ints: ignoring or refusing them is negotiation,
which belongs to the connection layer.

ServerKeyExchange and ClientKeyExchange have no self-describing form: their body depends on the
negotiated key exchange, so ``decode_handshake`` takes the ``KeyExchangeKind``; without one (no
suite yet, or a ServerKeyExchange under RSA) it returns ``OpaqueHandshake`` and lets the policy
decide. Encoders never check ranges, so a caller can craft any deviant message.

This module is the one import for message-level names: it also exposes the code points of
``registry`` and the key-exchange messages of ``kxmessages`` (see ``__all__``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from tlsmodel.reference.alerts import (
    AlertDescription,
    AlertLevel,
    TLSAlert,
    decode_error,
    illegal_parameter,
)
from tlsmodel.reference.extensions import Extension, decode_extensions, encode_extensions
from tlsmodel.reference.kxmessages import (
    ClientDHPublic,
    ClientECDHPublic,
    ClientKeyExchange,
    DigitallySigned,
    EncryptedPreMasterSecret,
    ServerDHParams,
    ServerECDHParams,
    ServerKeyExchange,
    decode_client_key_exchange,
    decode_server_key_exchange,
)
from tlsmodel.reference.registry import (
    TLS1_2,
    VERIFY_DATA_LENGTH,
    ClientCertificateType,
    ContentType,
    HandshakeType,
    NamedGroup,
    SignatureScheme,
)
from tlsmodel.reference.suites import KeyExchangeKind
from tlsmodel.reference.wire import Reader, uint, uint_vector, vector

_OCSP = 1  # RFC 6066 §8: CertificateStatusType ocsp(1)


def _hello_extensions(r: Reader, *, in_client_hello: bool) -> tuple[Extension, ...] | None:
    """RFC 5246 §7.4.1.2: the extensions block may be absent; if present it must fill the rest."""
    if not r.remaining:
        return None
    exts = decode_extensions(r.vector(2), in_client_hello=in_client_hello)
    r.end()
    return exts


def _encode_hello_extensions(exts: tuple[Extension, ...] | None) -> bytes:
    return b"" if exts is None else encode_extensions(exts)


@dataclass(frozen=True, slots=True)
class ClientHello:
    msg_type: ClassVar[HandshakeType] = HandshakeType.client_hello
    version: int
    random: bytes
    session_id: bytes
    cipher_suites: tuple[int, ...]
    compression_methods: tuple[int, ...] = (0,)
    extensions: tuple[Extension, ...] | None = ()

    def encode_body(self) -> bytes:
        return (
            uint(self.version, 2)
            + self.random
            + vector(self.session_id, 1)
            + uint_vector(self.cipher_suites, 2, 2)
            + uint_vector(self.compression_methods, 1, 1)
            + _encode_hello_extensions(self.extensions)
        )

    @classmethod
    def decode_body(cls, r: Reader) -> ClientHello:
        return cls(
            version=r.uint(2),
            random=r.bytes(32),
            session_id=r.vector(1, 0, 32),
            cipher_suites=r.uint_list(2, 2, 2, 0xFFFE),
            compression_methods=r.uint_list(1, 1, 1, 0xFF),
            extensions=_hello_extensions(r, in_client_hello=True),
        )


@dataclass(frozen=True, slots=True)
class ServerHello:
    msg_type: ClassVar[HandshakeType] = HandshakeType.server_hello
    version: int
    random: bytes
    session_id: bytes
    cipher_suite: int
    compression_method: int = 0
    extensions: tuple[Extension, ...] | None = ()

    def encode_body(self) -> bytes:
        return (
            uint(self.version, 2)
            + self.random
            + vector(self.session_id, 1)
            + uint(self.cipher_suite, 2)
            + uint(self.compression_method, 1)
            + _encode_hello_extensions(self.extensions)
        )

    @classmethod
    def decode_body(cls, r: Reader) -> ServerHello:
        return cls(
            version=r.uint(2),
            random=r.bytes(32),
            session_id=r.vector(1, 0, 32),
            cipher_suite=r.uint(2),
            compression_method=r.uint(1),
            extensions=_hello_extensions(r, in_client_hello=False),
        )


@dataclass(frozen=True, slots=True)
class Certificate:
    """RFC 5246 §7.4.2: DER certificates, sender's own first. Empty = client has none."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate
    certificate_list: tuple[bytes, ...]

    def encode_body(self) -> bytes:
        return vector(b"".join(vector(c, 3) for c in self.certificate_list), 3)

    @classmethod
    def decode_body(cls, r: Reader) -> Certificate:
        certs = r.sub(3, "certificate_list")
        r.end()
        out: list[bytes] = []
        while certs.remaining:
            out.append(certs.vector(3, 1))
        return cls(tuple(out))


@dataclass(frozen=True, slots=True)
class CertificateRequest:
    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_request
    certificate_types: tuple[int, ...]
    signature_algorithms: tuple[int, ...]
    authorities: tuple[bytes, ...] = ()

    def encode_body(self) -> bytes:
        names = b"".join(vector(a, 2) for a in self.authorities)
        return (
            uint_vector(self.certificate_types, 1, 1)
            + uint_vector(self.signature_algorithms, 2, 2)
            + vector(names, 2)
        )

    @classmethod
    def decode_body(cls, r: Reader) -> CertificateRequest:
        types = r.uint_list(1, 1, 1, 0xFF)
        schemes = r.uint_list(2, 2, 2, 0xFFFE)
        names_reader = r.sub(2, "certificate_authorities")
        r.end()
        names: list[bytes] = []
        while names_reader.remaining:
            names.append(names_reader.vector(2, 1))
        return cls(types, schemes, tuple(names))


@dataclass(frozen=True, slots=True)
class _Empty:
    """Base for the messages whose body is empty (RFC 5246 §7.4.1.1, §7.4.5)."""

    def encode_body(self) -> bytes:
        return b""

    @classmethod
    def decode_body(cls, r: Reader) -> _Empty:
        r.end()
        return cls()


@dataclass(frozen=True, slots=True)
class ServerHelloDone(_Empty):
    msg_type: ClassVar[HandshakeType] = HandshakeType.server_hello_done


@dataclass(frozen=True, slots=True)
class HelloRequest(_Empty):
    msg_type: ClassVar[HandshakeType] = HandshakeType.hello_request


@dataclass(frozen=True, slots=True)
class CertificateVerify:
    """RFC 5246 §7.4.8: a signature over all handshake messages so far."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_verify
    signed: DigitallySigned

    def encode_body(self) -> bytes:
        return self.signed.encode()

    @classmethod
    def decode_body(cls, r: Reader) -> CertificateVerify:
        signed = DigitallySigned.decode(r)
        r.end()
        return cls(signed)


@dataclass(frozen=True, slots=True)
class Finished:
    msg_type: ClassVar[HandshakeType] = HandshakeType.finished
    verify_data: bytes

    def encode_body(self) -> bytes:
        return self.verify_data

    @classmethod
    def decode_body(cls, r: Reader) -> Finished:
        if r.remaining != VERIFY_DATA_LENGTH:
            raise decode_error(f"Finished: verify_data is {r.remaining} bytes, not 12")
        return cls(r.bytes(VERIFY_DATA_LENGTH))


@dataclass(frozen=True, slots=True)
class NewSessionTicket:
    """RFC 5077 §3.3: ``uint32 ticket_lifetime_hint; opaque ticket<0..2^16-1>``."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.new_session_ticket
    lifetime_hint: int
    ticket: bytes

    def encode_body(self) -> bytes:
        return uint(self.lifetime_hint, 4) + vector(self.ticket, 2)

    @classmethod
    def decode_body(cls, r: Reader) -> NewSessionTicket:
        msg = cls(lifetime_hint=r.uint(4), ticket=r.vector(2))
        r.end()
        return msg


@dataclass(frozen=True, slots=True)
class CertificateStatus:
    """RFC 6066 §8: ``status_type ocsp(1)``, ``opaque OCSPResponse<1..2^24-1>`` (DER)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_status
    response: bytes

    def encode_body(self) -> bytes:
        return uint(_OCSP, 1) + vector(self.response, 3)

    @classmethod
    def decode_body(cls, r: Reader) -> CertificateStatus:
        status_type = r.uint(1)
        if status_type != _OCSP:
            raise illegal_parameter(f"CertificateStatus: unknown status_type {status_type}")
        msg = cls(r.vector(3, 1))
        r.end()
        return msg


@dataclass(frozen=True, slots=True)
class OpaqueHandshake:
    """A key-exchange message whose form is not determined by what has been negotiated."""

    msg_type: int
    body: bytes

    def encode_body(self) -> bytes:
        return self.body


HandshakeMessage = (
    ClientHello
    | ServerHello
    | Certificate
    | ServerKeyExchange
    | CertificateRequest
    | ServerHelloDone
    | CertificateVerify
    | EncryptedPreMasterSecret
    | ClientDHPublic
    | ClientECDHPublic
    | Finished
    | NewSessionTicket
    | CertificateStatus
    | HelloRequest
    | OpaqueHandshake
)


_DECODERS: dict[int, Callable[[Reader], HandshakeMessage]] = {
    HandshakeType.hello_request: HelloRequest.decode_body,
    HandshakeType.client_hello: ClientHello.decode_body,
    HandshakeType.server_hello: ServerHello.decode_body,
    HandshakeType.new_session_ticket: NewSessionTicket.decode_body,
    HandshakeType.certificate: Certificate.decode_body,
    HandshakeType.certificate_request: CertificateRequest.decode_body,
    HandshakeType.server_hello_done: ServerHelloDone.decode_body,
    HandshakeType.certificate_verify: CertificateVerify.decode_body,
    HandshakeType.finished: Finished.decode_body,
    HandshakeType.certificate_status: CertificateStatus.decode_body,
}  # type: ignore[dict-item]


def encode_handshake(msg: HandshakeMessage) -> bytes:
    """RFC 5246 §7.4: ``HandshakeType msg_type; uint24 length; body``."""
    body = msg.encode_body()
    return uint(msg.msg_type, 1) + uint(len(body), 3) + body


def decode_handshake(msg_type: int, body: bytes, kx: KeyExchangeKind | None) -> HandshakeMessage:
    """Decode one complete handshake body (the reassembler has removed the 4-byte header)."""
    name = HandshakeType(msg_type).name if msg_type in HandshakeType._value2member_map_ else ""
    r = Reader(body, name or f"handshake type {msg_type}")
    if msg_type == HandshakeType.server_key_exchange:
        if kx is None or not kx.ephemeral:
            return OpaqueHandshake(msg_type, body)
        return decode_server_key_exchange(r, kx)
    if msg_type == HandshakeType.client_key_exchange:
        if kx is None:
            return OpaqueHandshake(msg_type, body)
        return decode_client_key_exchange(r, kx)
    decoder = _DECODERS.get(msg_type)
    if decoder is None:
        raise TLSAlert(AlertDescription.unexpected_message, f"unknown handshake type {msg_type}")
    return decoder(r)


@dataclass(frozen=True, slots=True)
class ChangeCipherSpec:
    """RFC 5246 §7.1: a single byte of value 1."""


def encode_ccs() -> bytes:
    return b"\x01"


def decode_ccs(body: bytes) -> ChangeCipherSpec:
    if len(body) != 1:
        raise decode_error(f"ChangeCipherSpec: {len(body)} bytes, not 1")
    if body != b"\x01":
        raise illegal_parameter(f"ChangeCipherSpec: type {body[0]}, not change_cipher_spec(1)")
    return ChangeCipherSpec()


@dataclass(frozen=True, slots=True)
class Alert:
    """RFC 5246 §7.2: ``AlertLevel level; AlertDescription description``."""

    level: AlertLevel
    description: AlertDescription


def encode_alert(alert: Alert) -> bytes:
    return uint(alert.level, 1) + uint(alert.description, 1)


def decode_alert(body: bytes) -> Alert:
    """Alerts are two bytes; unknown levels or descriptions are not values we can act on."""
    if len(body) != 2:
        raise decode_error(f"Alert: {len(body)} bytes, not 2")
    level, description = body[0], body[1]
    if level not in AlertLevel._value2member_map_:
        raise illegal_parameter(f"Alert: unknown level {level}")
    if description not in AlertDescription._value2member_map_:
        raise illegal_parameter(f"Alert: unknown description {description}")
    return Alert(AlertLevel(level), AlertDescription(description))


__all__ = [
    "TLS1_2",
    "VERIFY_DATA_LENGTH",
    "Alert",
    "Certificate",
    "CertificateRequest",
    "CertificateStatus",
    "CertificateVerify",
    "ChangeCipherSpec",
    "ClientCertificateType",
    "ClientDHPublic",
    "ClientECDHPublic",
    "ClientHello",
    "ClientKeyExchange",
    "ContentType",
    "DigitallySigned",
    "EncryptedPreMasterSecret",
    "Finished",
    "HandshakeMessage",
    "HandshakeType",
    "HelloRequest",
    "NamedGroup",
    "NewSessionTicket",
    "OpaqueHandshake",
    "ServerDHParams",
    "ServerECDHParams",
    "ServerHello",
    "ServerHelloDone",
    "ServerKeyExchange",
    "SignatureScheme",
    "decode_alert",
    "decode_ccs",
    "decode_handshake",
    "encode_alert",
    "encode_ccs",
    "encode_handshake",
]
