"""IANA names for the code points a capture reader meets: extensions, alert levels, versions.

Why here and not in the model: the model names only what decides the order (its alphabet and
alert registry, which we reuse); a capture carries many more extensions, and the trace format
asks for IANA names for all of them so users can read what their peer sent. Code points that
IANA has not named (GREASE values, private use) are written as hex, e.g. ``"0x0a0a"``.
"""

from __future__ import annotations

from typing import Final

from tlsmodel.model.alphabet import ALERT_BY_CODE, HANDSHAKE_TYPES
from tlsmodel.model.suites import SUITES_BY_CODE

# IANA "TLS ExtensionType Values" registry (tls-extensiontype-values-1).
EXTENSIONS: Final[dict[int, str]] = {
    0: "server_name",
    1: "max_fragment_length",
    2: "client_certificate_url",
    3: "trusted_ca_keys",
    4: "truncated_hmac",
    5: "status_request",
    6: "user_mapping",
    7: "client_authz",
    8: "server_authz",
    9: "cert_type",
    10: "supported_groups",
    11: "ec_point_formats",
    12: "srp",
    13: "signature_algorithms",
    14: "use_srtp",
    15: "heartbeat",
    16: "application_layer_protocol_negotiation",
    17: "status_request_v2",
    18: "signed_certificate_timestamp",
    19: "client_certificate_type",
    20: "server_certificate_type",
    21: "padding",
    22: "encrypt_then_mac",
    23: "extended_master_secret",
    24: "token_binding",
    25: "cached_info",
    26: "tls_lts",
    27: "compress_certificate",
    28: "record_size_limit",
    29: "pwd_protect",
    30: "pwd_clear",
    31: "password_salt",
    32: "ticket_pinning",
    33: "tls_cert_with_extern_psk",
    34: "delegated_credential",
    35: "session_ticket",
    36: "TLMSP",
    37: "TLMSP_proxying",
    38: "TLMSP_delegate",
    39: "supported_ekt_ciphers",
    41: "pre_shared_key",
    42: "early_data",
    43: "supported_versions",
    44: "cookie",
    45: "psk_key_exchange_modes",
    47: "certificate_authorities",
    48: "oid_filters",
    49: "post_handshake_auth",
    50: "signature_algorithms_cert",
    51: "key_share",
    52: "transparency_info",
    54: "connection_id",
    55: "external_id_hash",
    56: "external_session_id",
    57: "quic_transport_parameters",
    58: "ticket_request",
    59: "dnssec_chain",
    60: "sequence_number_encryption_algorithms",
    61: "rrc",
    64768: "ech_outer_extensions",
    65037: "encrypted_client_hello",
    65281: "renegotiation_info",
}

ALERT_LEVELS: Final[dict[int, str]] = {1: "warning", 2: "fatal"}

# ProtocolVersion values (RFC 5246 Appendix E, RFC 8446 §4.2.1); only 0x0303 is in scope.
TLS12: Final = 0x0303
VERSIONS: Final[dict[int, str]] = {
    0x0300: "SSL 3.0",
    0x0301: "TLS 1.0",
    0x0302: "TLS 1.1",
    0x0303: "TLS 1.2",
    0x0304: "TLS 1.3",
}

HANDSHAKE_NAMES: Final[dict[int, str]] = {code: name for name, code in HANDSHAKE_TYPES.items()}


def extension_name(code: int) -> str:
    """IANA name of an extension code point, or its hex form if IANA has none."""
    return EXTENSIONS.get(code, f"0x{code:04x}")


def suite_name(code: int) -> str:
    """IANA name of a TLS 1.2 cipher suite, or its hex form (which the model also accepts)."""
    suite = SUITES_BY_CODE.get(code)
    return suite.name if suite is not None else f"0x{code:04x}"


def alert_description(code: int) -> str | None:
    """IANA name of an alert description; None for a code IANA does not define."""
    return ALERT_BY_CODE.get(code)


def version_name(code: int) -> str:
    return VERSIONS.get(code, f"0x{code:04x}")
