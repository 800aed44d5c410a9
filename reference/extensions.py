"""Hello extensions (RFC 5246 §7.4.1.4) that the reference understands, decoded strictly.

An extension's body depends on the message it rides in: ``server_name`` and ``status_request``
carry a list in the ClientHello and are empty in the ServerHello (RFC 6066 §3, §8), so the
decoder is told which hello it is reading. Extensions the reference does not know are kept as
``UnknownExtension`` (RFC 5246 §7.4.1.4: a server MUST ignore unknown client extensions; a
client that gets one it did not offer aborts — that is policy, decided by the connection).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, TypeVar

from tlsmodel.reference.alerts import illegal_parameter
from tlsmodel.reference.wire import Reader, uint, uint_vector, vector


class ExtensionType(IntEnum):
    server_name = 0  # RFC 6066 §3
    status_request = 5  # RFC 6066 §8
    supported_groups = 10  # RFC 8422 §5.1.1 (was elliptic_curves)
    ec_point_formats = 11  # RFC 8422 §5.1.2
    signature_algorithms = 13  # RFC 5246 §7.4.1.4.1
    encrypt_then_mac = 22  # RFC 7366 §2
    extended_master_secret = 23  # RFC 7627 §5.1
    session_ticket = 35  # RFC 5077 §3.2
    renegotiation_info = 0xFF01  # RFC 5746 §3.2


_HOST_NAME = 0  # RFC 6066 §3: NameType host_name(0)
_OCSP = 1  # RFC 6066 §8: CertificateStatusType ocsp(1)


@dataclass(frozen=True, slots=True)
class ServerName:
    """RFC 6066 §3. ``host_name=None`` is the empty body a server sends to acknowledge."""

    ext_type: ClassVar[int] = ExtensionType.server_name
    host_name: str | None = None


@dataclass(frozen=True, slots=True)
class SupportedGroups:
    ext_type: ClassVar[int] = ExtensionType.supported_groups
    groups: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ECPointFormats:
    ext_type: ClassVar[int] = ExtensionType.ec_point_formats
    formats: tuple[int, ...] = (0,)  # uncompressed(0), RFC 8422 §5.1.2


@dataclass(frozen=True, slots=True)
class SignatureAlgorithms:
    ext_type: ClassVar[int] = ExtensionType.signature_algorithms
    schemes: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class StatusRequest:
    """RFC 6066 §8 OCSP request; ``empty=True`` is the ServerHello acknowledgement."""

    ext_type: ClassVar[int] = ExtensionType.status_request
    responder_ids: tuple[bytes, ...] = ()
    request_extensions: bytes = b""
    empty: bool = False


@dataclass(frozen=True, slots=True)
class SessionTicket:
    """RFC 5077 §3.2: empty to ask for a ticket, or the ticket to resume with."""

    ext_type: ClassVar[int] = ExtensionType.session_ticket
    ticket: bytes = b""


@dataclass(frozen=True, slots=True)
class RenegotiationInfo:
    """RFC 5746 §3.2: the previous handshake's verify_data (empty on a first handshake)."""

    ext_type: ClassVar[int] = ExtensionType.renegotiation_info
    renegotiated_connection: bytes = b""


@dataclass(frozen=True, slots=True)
class ExtendedMasterSecret:
    ext_type: ClassVar[int] = ExtensionType.extended_master_secret


@dataclass(frozen=True, slots=True)
class EncryptThenMac:
    ext_type: ClassVar[int] = ExtensionType.encrypt_then_mac


@dataclass(frozen=True, slots=True)
class UnknownExtension:
    """Any extension the reference does not interpret, kept byte for byte."""

    ext_type: int
    data: bytes


Extension = (
    ServerName
    | SupportedGroups
    | ECPointFormats
    | SignatureAlgorithms
    | StatusRequest
    | SessionTicket
    | RenegotiationInfo
    | ExtendedMasterSecret
    | EncryptThenMac
    | UnknownExtension
)

T = TypeVar("T")


def encode_extension_body(ext: Extension) -> bytes:
    """The ``extension_data`` of one extension (without type and length)."""
    match ext:
        case ServerName(host_name=None):
            return b""
        case ServerName(host_name=name):
            entry = uint(_HOST_NAME, 1) + vector(name.encode("ascii"), 2)
            return vector(entry, 2)
        case SupportedGroups(groups=groups):
            return uint_vector(groups, 2, 2)
        case ECPointFormats(formats=formats):
            return uint_vector(formats, 1, 1)
        case SignatureAlgorithms(schemes=schemes):
            return uint_vector(schemes, 2, 2)
        case StatusRequest(empty=True):
            return b""
        case StatusRequest(responder_ids=ids, request_extensions=req_ext):
            ids_raw = b"".join(vector(i, 2) for i in ids)
            return uint(_OCSP, 1) + vector(ids_raw, 2) + vector(req_ext, 2)
        case SessionTicket(ticket=ticket):
            return ticket
        case RenegotiationInfo(renegotiated_connection=rc):
            return vector(rc, 1)
        case ExtendedMasterSecret() | EncryptThenMac():
            return b""
        case UnknownExtension(data=data):
            return data
    raise TypeError(f"not an extension: {ext!r}")


def encode_extensions(exts: tuple[Extension, ...]) -> bytes:
    """``Extension extensions<0..2^16-1>`` including its length prefix."""
    body = b"".join(uint(e.ext_type, 2) + vector(encode_extension_body(e), 2) for e in exts)
    return vector(body, 2)


def _server_name(r: Reader, in_client_hello: bool) -> ServerName:
    if not in_client_hello:
        r.end()  # RFC 6066 §3: the server's extension_data "SHALL be empty"
        return ServerName(None)
    names = r.sub(2, "server_name_list", 1)
    r.end()
    host: str | None = None
    while names.remaining:
        name_type = names.uint(1)
        if name_type != _HOST_NAME:
            raise illegal_parameter(f"server_name: unknown name_type {name_type}")
        raw = names.vector(2, 1)
        if host is not None:
            raise illegal_parameter("server_name: more than one host_name")
        if not raw.isascii() or raw.endswith(b".") or b"\x00" in raw:
            raise illegal_parameter("server_name: host_name is not an ASCII DNS name")
        host = raw.decode("ascii")
    return ServerName(host)


def _status_request(r: Reader, in_client_hello: bool) -> StatusRequest:
    if not in_client_hello:
        r.end()  # RFC 6066 §8: the server's extension_data is empty
        return StatusRequest(empty=True)
    status_type = r.uint(1)
    if status_type != _OCSP:
        raise illegal_parameter(f"status_request: unknown status_type {status_type}")
    ids_reader = r.sub(2, "responder_id_list")
    ids: list[bytes] = []
    while ids_reader.remaining:
        ids.append(ids_reader.vector(2, 1))
    req_ext = r.vector(2)
    r.end()
    return StatusRequest(tuple(ids), req_ext)


def _decode_one(ext_type: int, data: bytes, in_client_hello: bool) -> Extension:
    r = Reader(data, f"extension {ext_type}")
    if ext_type == ExtensionType.server_name:
        return _server_name(r, in_client_hello)
    if ext_type == ExtensionType.status_request:
        return _status_request(r, in_client_hello)
    ext: Extension
    if ext_type == ExtensionType.supported_groups:
        ext = SupportedGroups(r.uint_list(2, 2, 2, 0xFFFF))
    elif ext_type == ExtensionType.ec_point_formats:
        ext = ECPointFormats(r.uint_list(1, 1, 1, 0xFF))
    elif ext_type == ExtensionType.signature_algorithms:
        ext = SignatureAlgorithms(r.uint_list(2, 2, 2, 0xFFFE))
    elif ext_type == ExtensionType.session_ticket:
        ext = SessionTicket(r.bytes(r.remaining))
    elif ext_type == ExtensionType.renegotiation_info:
        ext = RenegotiationInfo(r.vector(1))
    elif ext_type == ExtensionType.extended_master_secret:
        ext = ExtendedMasterSecret()  # RFC 7627 §5.1: extension_data is empty
    elif ext_type == ExtensionType.encrypt_then_mac:
        ext = EncryptThenMac()  # RFC 7366 §2: extension_data is empty
    else:
        return UnknownExtension(ext_type, data)
    r.end()
    return ext


def decode_extensions(data: bytes, *, in_client_hello: bool) -> tuple[Extension, ...]:
    """Decode the body of ``extensions<0..2^16-1>`` (without its own length prefix).

    RFC 5246 §7.4.1.4: "There MUST NOT be more than one extension of the same type" — a repeat
    is an inconsistent field, hence illegal_parameter.
    """
    r = Reader(data, "extensions")
    seen: set[int] = set()
    out: list[Extension] = []
    while r.remaining:
        ext_type = r.uint(2)
        body = r.vector(2)
        if ext_type in seen:
            raise illegal_parameter(f"duplicate extension {ext_type}")
        seen.add(ext_type)
        out.append(_decode_one(ext_type, body, in_client_hello))
    return tuple(out)


def find_extension(exts: tuple[Extension, ...] | None, cls: type[T]) -> T | None:
    """The extension of class ``cls`` in a hello's list, or None."""
    for ext in exts or ():
        if isinstance(ext, cls):
            return ext
    return None
