"""TLS alert codes and the one exception every decoder of the reference raises.

Why one exception type: a receiver that meets bad input must answer with exactly one fatal alert
(RFC 5246 §7.2.2) and stop. If every layer — record framing, record protection, message codecs,
key exchange — reports its failure as a ``TLSAlert`` carrying the description to send, the
connection layer needs a single ``except TLSAlert`` at its boundary to queue that alert and close,
and a fuzzer can assert "only TLSAlert, never anything else" (h2's ``error_code`` pattern).
"""

from __future__ import annotations

from enum import IntEnum


class AlertLevel(IntEnum):
    """RFC 5246 §7.2: ``enum { warning(1), fatal(2), (255) } AlertLevel``."""

    warning = 1
    fatal = 2


class AlertDescription(IntEnum):
    """RFC 5246 §7.2 ``AlertDescription``, plus the codes later RFCs added to the registry.

    The ``_RESERVED`` names are kept because a peer may still send them (SSLv3/TLS 1.0 codes
    that TLS 1.2 implementations MUST NOT send but can receive).
    """

    close_notify = 0
    unexpected_message = 10
    bad_record_mac = 20
    decryption_failed_RESERVED = 21
    record_overflow = 22
    decompression_failure = 30
    handshake_failure = 40
    no_certificate_RESERVED = 41
    bad_certificate = 42
    unsupported_certificate = 43
    certificate_revoked = 44
    certificate_expired = 45
    certificate_unknown = 46
    illegal_parameter = 47
    unknown_ca = 48
    access_denied = 49
    decode_error = 50
    decrypt_error = 51
    export_restriction_RESERVED = 60
    protocol_version = 70
    insufficient_security = 71
    internal_error = 80
    inappropriate_fallback = 86  # RFC 7507 §2
    user_canceled = 90
    no_renegotiation = 100
    unsupported_extension = 110  # RFC 5246 §7.2.2
    unrecognized_name = 112  # RFC 6066 §3
    bad_certificate_status_response = 113  # RFC 6066 §8
    unknown_psk_identity = 115  # RFC 4279 §2
    no_application_protocol = 120  # RFC 7301 §3.2


class TLSAlert(Exception):
    """Bad input from the peer: the alert to send (or that must be reported) and why.

    ``description`` is what goes on the wire; ``message`` is for humans (logs, test failures)
    and never leaves the process.
    """

    def __init__(
        self,
        description: AlertDescription,
        message: str = "",
        level: AlertLevel = AlertLevel.fatal,
    ) -> None:
        super().__init__(f"{description.name}: {message}" if message else description.name)
        self.description = description
        self.level = level
        self.message = message


def decode_error(message: str) -> TLSAlert:
    """Shorthand for the commonest alert: a length or field out of its specified range."""
    return TLSAlert(AlertDescription.decode_error, message)


def illegal_parameter(message: str) -> TLSAlert:
    """Shorthand: a field is well formed but its value is not allowed or is inconsistent."""
    return TLSAlert(AlertDescription.illegal_parameter, message)
