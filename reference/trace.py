"""Messages as the model's trace format names them, and the JSONL writer for ``--trace-out``.

Why here and not in the codec: the trace vocabulary (issue 2) is the oracle's, not the wire's —
three ClientKeyExchange forms are one ``ClientKeyExchange``, a suite is its IANA name, and only
the attributes that decide the order are recorded (``cipher_suite``, ``resumed``,
``extensions``, ``empty``, ``fixed_dh``, ``level``, ``description``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

from tlsmodel.reference.alerts import AlertDescription, AlertLevel
from tlsmodel.reference.codec import (
    Certificate,
    CertificateRequest,
    CertificateStatus,
    CertificateVerify,
    ClientDHPublic,
    ClientECDHPublic,
    ClientHello,
    EncryptedPreMasterSecret,
    Finished,
    HandshakeMessage,
    HelloRequest,
    NewSessionTicket,
    OpaqueHandshake,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
)
from tlsmodel.reference.events import LoggedMessage
from tlsmodel.reference.extensions import ExtensionType
from tlsmodel.reference.suites import suite_by_code

_NAMES: dict[type, str] = {
    ClientHello: "ClientHello",
    ServerHello: "ServerHello",
    Certificate: "Certificate",
    ServerKeyExchange: "ServerKeyExchange",
    CertificateRequest: "CertificateRequest",
    ServerHelloDone: "ServerHelloDone",
    CertificateVerify: "CertificateVerify",
    EncryptedPreMasterSecret: "ClientKeyExchange",
    ClientDHPublic: "ClientKeyExchange",
    ClientECDHPublic: "ClientKeyExchange",
    Finished: "Finished",
    NewSessionTicket: "NewSessionTicket",
    CertificateStatus: "CertificateStatus",
    HelloRequest: "HelloRequest",
}
_OPAQUE_NAMES = {12: "ServerKeyExchange", 16: "ClientKeyExchange"}


def suite_name(code: int) -> str:
    """IANA name of a suite we implement, else the hex code (the trace format allows both)."""
    suite = suite_by_code(code)
    return suite.iana if suite is not None else f"0x{code:04x}"


def extension_name(ext_type: int) -> str:
    """IANA name of an extension we know, else its number in hex."""
    try:
        return ExtensionType(ext_type).name
    except ValueError:
        return f"0x{ext_type:04x}"


def handshake_entry(sender: str, msg: HandshakeMessage, *, resumed: bool = False) -> LoggedMessage:
    """The log entry for a handshake message; ``resumed`` matters for ServerHello only."""
    if isinstance(msg, OpaqueHandshake):
        name = _OPAQUE_NAMES.get(msg.msg_type, f"Handshake{msg.msg_type}")
    else:
        name = _NAMES[type(msg)]
    attrs: tuple[tuple[str, Any], ...] = ()
    if isinstance(msg, ServerHello):
        exts = tuple(extension_name(e.ext_type) for e in msg.extensions or ())
        attrs = (
            ("cipher_suite", suite_name(msg.cipher_suite)),
            ("resumed", resumed),
            ("extensions", exts),
        )
    elif isinstance(msg, Certificate):
        # fixed_dh: we never send or accept fixed-(EC)DH client certificates (no static DH).
        attrs = (("empty", not msg.certificate_list), ("fixed_dh", False))
    return LoggedMessage(sender=sender, type=name, attributes=attrs)


def alert_entry(sender: str, level: AlertLevel, description: AlertDescription) -> LoggedMessage:
    """The log entry for an alert, with level and description by name."""
    return LoggedMessage(
        sender=sender,
        type="Alert",
        attributes=(("level", level.name), ("description", description.name)),
    )


def simple_entry(sender: str, name: str) -> LoggedMessage:
    """ChangeCipherSpec and ApplicationData carry no deciding attributes."""
    return LoggedMessage(sender=sender, type=name)


def write_trace(out: IO[str], trace_id: str, messages: Iterable[LoggedMessage]) -> None:
    """One connection as one JSON line: ``{"id": ..., "messages": [...]}``."""
    record = {"id": trace_id, "messages": [m.to_json() for m in messages]}
    out.write(json.dumps(record) + "\n")
    out.flush()
