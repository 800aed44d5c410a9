"""The alphabet of the model: message names, who may send them, and the alert registry.

Every file format of tlsmodel (trace JSONL, oracle reports, diagrams) uses exactly these names.
A *message* is one handshake message (RFC 5246 §7.4), a ChangeCipherSpec (§7.1), an Alert (§7.2)
or one ApplicationData record (§6.2, §10). The model only sees the attributes that decide the
order of what may follow; those are listed in ``ATTRIBUTES`` and abstracted in ``machine``.
"""

from __future__ import annotations

from typing import Final

CLIENT: Final = "client"
SERVER: Final = "server"
SENDERS: Final = (CLIENT, SERVER)

# Handshake messages with their HandshakeType code (RFC 5246 §7.4; NewSessionTicket RFC 5077 §3.3;
# CertificateStatus RFC 6066 §8).
HANDSHAKE_TYPES: Final[dict[str, int]] = {
    "HelloRequest": 0,
    "ClientHello": 1,
    "ServerHello": 2,
    "NewSessionTicket": 4,
    "Certificate": 11,
    "ServerKeyExchange": 12,
    "CertificateRequest": 13,
    "ServerHelloDone": 14,
    "CertificateVerify": 15,
    "ClientKeyExchange": 16,
    "Finished": 20,
    "CertificateStatus": 22,
}

# Record content types that are not handshake messages (RFC 5246 §6.2.1).
CONTENT_TYPES: Final[dict[str, int]] = {
    "ChangeCipherSpec": 20,
    "Alert": 21,
    "ApplicationData": 23,
}

MESSAGE_TYPES: Final[tuple[str, ...]] = (*HANDSHAKE_TYPES, *CONTENT_TYPES)

# Who may ever send each message (RFC 5246 §7.3 figures; §7.4.1.1 HelloRequest is server-only).
SENT_BY: Final[dict[str, tuple[str, ...]]] = {
    "HelloRequest": (SERVER,),
    "ClientHello": (CLIENT,),
    "ServerHello": (SERVER,),
    "NewSessionTicket": (SERVER,),
    "Certificate": (CLIENT, SERVER),
    "ServerKeyExchange": (SERVER,),
    "CertificateRequest": (SERVER,),
    "ServerHelloDone": (SERVER,),
    "CertificateVerify": (CLIENT,),
    "ClientKeyExchange": (CLIENT,),
    "Finished": (CLIENT, SERVER),
    "CertificateStatus": (SERVER,),
    "ChangeCipherSpec": (CLIENT, SERVER),
    "Alert": (CLIENT, SERVER),
    "ApplicationData": (CLIENT, SERVER),
}

# Trace attributes that decide the order, per message type (issue contract; absent = unknown).
ATTRIBUTES: Final[dict[str, tuple[str, ...]]] = {
    "ServerHello": ("cipher_suite", "resumed", "extensions"),
    "Certificate": ("empty", "fixed_dh"),
    "Alert": ("level", "description"),
}

# ServerHello extensions whose presence changes the order (IANA names).
ORDER_EXTENSIONS: Final[dict[str, str]] = {
    "session_ticket": "RFC 5077 §3.2: NewSessionTicket is sent iff the ServerHello echoed it",
    "status_request": "RFC 6066 §8: CertificateStatus only if the ServerHello echoed it",
    "renegotiation_info": "RFC 5746 §3.4-3.7: marks the connection secure for renegotiation",
}

ALERT_LEVELS: Final = ("warning", "fatal")

# The TLS Alert registry (IANA tls-parameters-6): name -> (code, always fatal?).
# "Always fatal" follows the wording of RFC 5246 §7.2.2 ("This message is always fatal",
# "This is always a fatal error" or "fatal error" without a warning use) and of the RFCs that
# added the later codes. no_renegotiation is always a warning (§7.2.2), handled on its own.
ALERTS: Final[dict[str, tuple[int, bool]]] = {
    "close_notify": (0, False),
    "unexpected_message": (10, True),
    "bad_record_mac": (20, True),
    "decryption_failed_RESERVED": (21, True),
    "record_overflow": (22, True),
    "decompression_failure": (30, True),
    "handshake_failure": (40, True),
    "no_certificate_RESERVED": (41, False),
    "bad_certificate": (42, False),
    "unsupported_certificate": (43, False),
    "certificate_revoked": (44, False),
    "certificate_expired": (45, False),
    "certificate_unknown": (46, False),
    "illegal_parameter": (47, True),
    "unknown_ca": (48, True),
    "access_denied": (49, True),
    "decode_error": (50, True),
    "decrypt_error": (51, True),
    "export_restriction_RESERVED": (60, True),
    "protocol_version": (70, True),
    "insufficient_security": (71, True),
    "internal_error": (80, True),
    "inappropriate_fallback": (86, True),
    "user_canceled": (90, False),
    "no_renegotiation": (100, False),
    "missing_extension": (109, True),
    "unsupported_extension": (110, True),
    "certificate_unobtainable_RESERVED": (111, False),
    "unrecognized_name": (112, False),
    "bad_certificate_status_response": (113, True),
    "bad_certificate_hash_value_RESERVED": (114, True),
    "unknown_psk_identity": (115, True),
    "certificate_required": (116, True),
    "no_application_protocol": (120, True),
}
ALERT_BY_CODE: Final[dict[int, str]] = {code: name for name, (code, _) in ALERTS.items()}

# The abstraction of an Alert description that the tables guard on.
ALERT_KINDS: Final = ("close_notify", "no_renegotiation", "fatal_only", "other")


def alert_kind(description: str) -> str:
    """Map an IANA alert description to the only distinctions the ordering rules make."""
    if description in ("close_notify", "no_renegotiation"):
        return description
    return "fatal_only" if ALERTS[description][1] else "other"
