"""Codec round trips and strict decoding (RFC 5246 §4, §6.2, §7.1, §7.2, §7.4, and the
extension RFCs): every message and extension survives encode → decode unchanged, and each kind
of malformation gives the alert RFC 5246 §7.2.2 names for it."""

from __future__ import annotations

import re
import subprocess

import pytest
from tlsmodel.reference.alerts import AlertDescription, AlertLevel, TLSAlert
from tlsmodel.reference.codec import (
    TLS1_2,
    Alert,
    Certificate,
    CertificateRequest,
    CertificateStatus,
    CertificateVerify,
    ClientDHPublic,
    ClientECDHPublic,
    ClientHello,
    ContentType,
    DigitallySigned,
    EncryptedPreMasterSecret,
    Finished,
    HandshakeMessage,
    HelloRequest,
    NewSessionTicket,
    OpaqueHandshake,
    ServerDHParams,
    ServerECDHParams,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
    decode_alert,
    decode_ccs,
    decode_handshake,
    encode_alert,
    encode_handshake,
)
from tlsmodel.reference.engine import ChangeCipherSpecReceived, Engine, HandshakeReceived, Role
from tlsmodel.reference.extensions import (
    ECPointFormats,
    EncryptThenMac,
    ExtendedMasterSecret,
    RenegotiationInfo,
    ServerName,
    SessionTicket,
    SignatureAlgorithms,
    StatusRequest,
    SupportedGroups,
    UnknownExtension,
    decode_extensions,
    encode_extensions,
)
from tlsmodel.reference.record import (
    MAX_FRAGMENT,
    HandshakeReassembler,
    RecordReader,
    encode_record,
    fragment_payload,
)
from tlsmodel.reference.suites import SUITES, KeyExchangeKind, parse_suite_list, suite_by_name

D = AlertDescription
RANDOM = bytes(range(32))

CLIENT_EXTENSIONS = (
    ServerName("example.com"),
    SupportedGroups((29, 23, 24, 256)),
    ECPointFormats((0,)),
    SignatureAlgorithms((0x0804, 0x0403, 0x0401)),
    StatusRequest((b"rid",), b"\x00\x01"),
    SessionTicket(b"ticket"),
    RenegotiationInfo(b""),
    ExtendedMasterSecret(),
    EncryptThenMac(),
    UnknownExtension(0x3374, b"\x01\x02"),
)
SERVER_EXTENSIONS = (
    ServerName(None),
    StatusRequest(empty=True),
    SessionTicket(),
    RenegotiationInfo(bytes(24)),
    ExtendedMasterSecret(),
)

SIGNED = DigitallySigned(0x0804, b"sig")
# (message, key exchange needed to decode it)
MESSAGES: list[tuple[HandshakeMessage, KeyExchangeKind | None]] = [
    (ClientHello(TLS1_2, RANDOM, b"\x01" * 32, (0xC02F, 0x00FF), (0,), CLIENT_EXTENSIONS), None),
    (ClientHello(TLS1_2, RANDOM, b"", (0x002F,), (1, 0), None), None),
    (ServerHello(TLS1_2, RANDOM, b"id", 0xC02F, 0, SERVER_EXTENSIONS), None),
    (ServerHello(TLS1_2, RANDOM, b"", 0x002F, 0, None), None),
    (Certificate((b"\x30\x01", b"\x30\x02\x00")), None),
    (Certificate(()), None),
    (ServerKeyExchange(ServerECDHParams(29, bytes(32)), SIGNED), KeyExchangeKind.ECDHE_RSA),
    (
        ServerKeyExchange(ServerDHParams(b"\xff" * 8, b"\x02", b"\x05"), SIGNED),
        KeyExchangeKind.DHE_RSA,
    ),
    (CertificateRequest((1, 64), (0x0401, 0x0403), (b"\x30\x00",)), None),
    (CertificateRequest((1,), (0x0401,), ()), None),
    (ServerHelloDone(), None),
    (CertificateVerify(SIGNED), None),
    (EncryptedPreMasterSecret(bytes(256)), KeyExchangeKind.RSA),
    (ClientDHPublic(b"\x07" * 256), KeyExchangeKind.DHE_RSA),
    (ClientECDHPublic(b"\x04" + bytes(64)), KeyExchangeKind.ECDHE_ECDSA),
    (Finished(bytes(12)), None),
    (NewSessionTicket(7200, b"opaque ticket"), None),
    (CertificateStatus(b"\x30\x03\x0a\x01\x00"), None),
    (HelloRequest(), None),
]


@pytest.mark.parametrize(("msg", "kx"), MESSAGES, ids=lambda m: type(m).__name__)
def test_handshake_round_trip(msg: HandshakeMessage, kx: KeyExchangeKind | None) -> None:
    raw = encode_handshake(msg)
    assert int.from_bytes(raw[1:4], "big") == len(raw) - 4
    assert decode_handshake(raw[0], raw[4:], kx) == msg


@pytest.mark.parametrize(("msg", "kx"), MESSAGES, ids=lambda m: type(m).__name__)
def test_trailing_and_truncated_bodies_are_decode_error(
    msg: HandshakeMessage, kx: KeyExchangeKind | None
) -> None:
    raw = encode_handshake(msg)
    body = raw[4:]
    if isinstance(msg, ClientHello | ServerHello) and msg.extensions is None:
        # One stray byte where the extensions block may start is a truncated length prefix.
        bad_bodies = [body + b"\x00"]
    else:
        bad_bodies = [body + b"\x00"]
        if body:
            bad_bodies.append(body[:-1])
    for bad in bad_bodies:
        with pytest.raises(TLSAlert) as caught:
            decode_handshake(raw[0], bad, kx)
        assert caught.value.description is D.decode_error, (bad, caught.value)


def test_key_exchange_messages_without_negotiated_kx_are_opaque() -> None:
    ske = encode_handshake(ServerKeyExchange(ServerECDHParams(23, b"\x04" + bytes(64)), SIGNED))
    assert decode_handshake(12, ske[4:], None) == OpaqueHandshake(12, ske[4:])
    # RFC 5246 §7.4.3: there is no ServerKeyExchange for RSA; the policy decides.
    assert decode_handshake(12, ske[4:], KeyExchangeKind.RSA) == OpaqueHandshake(12, ske[4:])
    assert decode_handshake(16, b"\x00\x01\x02", None) == OpaqueHandshake(16, b"\x00\x01\x02")
    assert encode_handshake(OpaqueHandshake(12, b"xyz")) == b"\x0c\x00\x00\x03xyz"


@pytest.mark.parametrize(
    ("msg_type", "body", "kx", "alert"),
    [
        (99, b"", None, D.unexpected_message),  # unknown HandshakeType
        (
            1,
            b"\x03\x03" + RANDOM + b"\x21" + bytes(33) + b"\x00\x02\x00\x2f\x01\x00",
            None,
            D.decode_error,
        ),  # session_id<0..32> of 33 bytes
        (1, b"\x03\x03" + RANDOM + b"\x00\x00\x00\x01\x00", None, D.decode_error),  # no suites
        (1, b"\x03\x03" + RANDOM + b"\x00\x00\x03\x00\x2f\x00\x01\x00", None, D.decode_error),
        (1, b"\x03\x03" + RANDOM + b"\x00\x00\x02\x00\x2f\x00", None, D.decode_error),  # no comp.
        (20, bytes(11), None, D.decode_error),  # verify_data is 12 bytes
        (20, bytes(13), None, D.decode_error),
        (
            12,
            b"\x01\x00\x17\x01\x04" + b"\x04\x01\x00\x00",
            KeyExchangeKind.ECDHE_RSA,
            D.illegal_parameter,
        ),  # explicit_prime ECParameters
        (
            12,
            b"\x03\x00\x17\x00" + b"\x04\x01\x00\x00",
            KeyExchangeKind.ECDHE_RSA,
            D.decode_error,
        ),  # ECPoint<1..2^8-1> empty
        (
            12,
            b"\x00\x00\x00\x01\x02\x00\x01\x05\x04\x01\x00\x00",
            KeyExchangeKind.DHE_RSA,
            D.decode_error,
        ),  # dh_p<1..2^16-1> empty
        (16, b"", KeyExchangeKind.ECDHE_RSA, D.decode_error),
        (16, b"\x00\x00", KeyExchangeKind.DHE_RSA, D.decode_error),  # dh_Yc<1..2^16-1>
        (11, b"\x00\x00\x03\x00\x00\x00", None, D.decode_error),  # ASN.1Cert<1..2^24-1> empty
        (11, b"\x00\x00\x05\x00\x00\x01\x30", None, D.decode_error),  # inner length overruns
        (13, b"\x00\x00\x02\x04\x01\x00\x00", None, D.decode_error),  # certificate_types<1..>
        (13, b"\x01\x01\x00\x00\x00\x00", None, D.decode_error),  # sig algs <2..2^16-2>
        (22, b"\x02\x00\x00\x01\x00", None, D.illegal_parameter),  # status_type not ocsp
        (22, b"\x01\x00\x00\x00", None, D.decode_error),  # OCSPResponse<1..2^24-1> empty
        (14, b"\x00", None, D.decode_error),  # ServerHelloDone has no body
        (0, b"\x00", None, D.decode_error),
    ],
)
def test_malformed_messages(
    msg_type: int, body: bytes, kx: KeyExchangeKind | None, alert: AlertDescription
) -> None:
    with pytest.raises(TLSAlert) as caught:
        decode_handshake(msg_type, body, kx)
    assert caught.value.description is alert


def test_extensions_round_trip_in_both_hellos() -> None:
    for exts, in_client in ((CLIENT_EXTENSIONS, True), (SERVER_EXTENSIONS, False)):
        encoded = encode_extensions(exts)
        assert decode_extensions(encoded[2:], in_client_hello=in_client) == exts


@pytest.mark.parametrize(
    ("ext_type", "data", "in_client", "alert"),
    [
        (23, b"\x00", True, D.decode_error),  # extended_master_secret must be empty
        (22, b"\x00", False, D.decode_error),  # encrypt_then_mac must be empty
        (0, b"\x00", False, D.decode_error),  # server's server_name is empty
        (5, b"\x00", False, D.decode_error),  # server's status_request is empty
        (0, b"\x00\x00", True, D.decode_error),  # ServerNameList<1..2^16-1> empty
        (0, b"\x00\x04\x01\x00\x01\x61", True, D.illegal_parameter),  # unknown NameType
        (0, b"\x00\x0a\x00\x00\x01\x61\x00\x00\x02\x62\x62", True, D.decode_error),
        (0, b"\x00\x08\x00\x00\x01\x61\x00\x00\x01\x62", True, D.illegal_parameter),  # 2 names
        (0, b"\x00\x05\x00\x00\x02\x61\x2e", True, D.illegal_parameter),  # trailing dot
        (10, b"\x00\x03\x00\x1d\x00", True, D.decode_error),  # odd NamedGroup list
        (10, b"\x00\x00", True, D.decode_error),  # named_group_list<2..2^16-1>
        (11, b"\x00", True, D.decode_error),  # ec_point_format_list<1..2^8-1>
        (13, b"\x00\x02\x04", True, D.decode_error),  # truncated
        (13, b"\x00\x02\x04\x01\x00", True, D.decode_error),  # trailing
        (0xFF01, b"\x01", True, D.decode_error),  # renegotiated_connection overruns
        (0xFF01, b"", True, D.decode_error),
        (5, b"\x02\x00\x00\x00\x00", True, D.illegal_parameter),  # status_type not ocsp
    ],
)
def test_malformed_extensions(
    ext_type: int, data: bytes, in_client: bool, alert: AlertDescription
) -> None:
    block = ext_type.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data
    with pytest.raises(TLSAlert) as caught:
        decode_extensions(block, in_client_hello=in_client)
    assert caught.value.description is alert


def test_duplicate_extension_is_illegal_parameter() -> None:
    """RFC 5246 §7.4.1.4: "There MUST NOT be more than one extension of the same type"."""
    one = b"\x00\x17\x00\x00"
    with pytest.raises(TLSAlert) as caught:
        decode_extensions(one + one, in_client_hello=True)
    assert caught.value.description is D.illegal_parameter


def test_extensions_block_overrunning_hello_is_decode_error() -> None:
    body = encode_handshake(ClientHello(TLS1_2, RANDOM, b"", (0x2F,), (0,), ()))[4:]
    with pytest.raises(TLSAlert) as caught:
        decode_handshake(1, body[:-2] + b"\x00\x04\x00\x17", None)
    assert caught.value.description is D.decode_error


def test_ccs_and_alert_bodies() -> None:
    assert decode_ccs(b"\x01") is not None
    for body, alert in (
        (b"", D.decode_error),
        (b"\x01\x01", D.decode_error),
        (b"\x02", D.illegal_parameter),
    ):
        with pytest.raises(TLSAlert) as caught:
            decode_ccs(body)
        assert caught.value.description is alert
    alert_msg = Alert(AlertLevel.warning, D.close_notify)
    assert decode_alert(encode_alert(alert_msg)) == alert_msg
    for body, alert in (
        (b"\x02", D.decode_error),
        (b"\x02\x28\x00", D.decode_error),
        (b"\x03\x28", D.illegal_parameter),
        (b"\x02\xfe", D.illegal_parameter),
    ):
        with pytest.raises(TLSAlert) as caught:
            decode_alert(body)
        assert caught.value.description is alert


# --- record layer -------------------------------------------------------------------


def test_record_reader_framing_and_limits() -> None:
    reader = RecordReader()
    data = encode_record(22, 0x0303, b"abc") + encode_record(23, 0x0301, b"")
    reader.feed(data[:4])
    assert reader.next_record() is None
    reader.feed(data[4:])
    first, second = reader.next_record(), reader.next_record()
    assert first is not None and (first.content_type, first.fragment) == (22, b"abc")
    assert second is not None and (second.version, second.fragment) == (0x0301, b"")
    assert reader.next_record() is None
    for header, alert in (
        (b"\x16\x03\x03\x48\x01", D.record_overflow),  # 2^14 + 2048 + 1
        (b"\x18\x03\x03\x00\x00", D.unexpected_message),  # unknown ContentType (heartbeat)
        (b"\x16\x02\x00\x00\x00", D.protocol_version),  # SSL 2-ish major version
    ):
        bad = RecordReader()
        bad.feed(header)
        with pytest.raises(TLSAlert) as caught:
            bad.next_record()
        assert caught.value.description is alert


def test_fragmentation_bounds() -> None:
    pieces = fragment_payload(bytes(2 * MAX_FRAGMENT + 1))
    assert [len(p) for p in pieces] == [MAX_FRAGMENT, MAX_FRAGMENT, 1]
    assert fragment_payload(b"") == [b""]


def test_reassembler_coalesced_and_split_messages() -> None:
    a = encode_handshake(ServerHelloDone())
    b = encode_handshake(Finished(bytes(range(12))))
    c = encode_handshake(Certificate((bytes(40000),)))
    r = HandshakeReassembler()
    assert [m.raw for m in r.feed(a + b + c[:10])] == [a, b]
    assert r.pending
    out = []
    for i in range(10, len(c), 1000):
        out += r.feed(c[i : i + 1000])
    assert [m.raw for m in out] == [c] and not r.pending
    small = HandshakeReassembler(max_message_size=100)
    with pytest.raises(TLSAlert) as caught:
        small.feed(b"\x0b\x00\x00\x65")  # announces 101 bytes: refused before buffering them
    assert caught.value.description is D.decode_error


def test_engine_interleaving_rules() -> None:
    """A message split over records decodes; a CCS inside a split message is
    unexpected_message; an alert inside one is delivered; plaintext over 2^14 overflows."""
    fin = encode_handshake(Finished(bytes(12)))
    engine = Engine(Role.SERVER)
    engine.receive_data(encode_record(22, 0x0303, fin[:5]) + encode_record(21, 0x0303, b"\x01\x00"))
    engine.receive_data(encode_record(22, 0x0303, fin[5:]))
    alert = engine.next_event()
    assert alert is not None and not isinstance(alert, HandshakeReceived)
    event = engine.next_event()
    assert isinstance(event, HandshakeReceived) and event.message == Finished(bytes(12))
    engine.receive_data(encode_record(22, 0x0303, fin[:5]) + encode_record(20, 0x0303, b"\x01"))
    with pytest.raises(TLSAlert) as caught:
        engine.next_event()
    assert caught.value.description is D.unexpected_message
    other = Engine(Role.CLIENT)
    other.receive_data(encode_record(20, 0x0303, b"\x01"))
    assert isinstance(other.next_event(), ChangeCipherSpecReceived)
    other.receive_data(encode_record(23, 0x0303, bytes(MAX_FRAGMENT + 1)))
    with pytest.raises(TLSAlert) as caught:
        other.next_event()
    assert caught.value.description is D.record_overflow


def test_engine_reports_events_before_a_bad_message_in_the_same_record() -> None:
    good = encode_handshake(ServerHelloDone())
    engine = Engine(Role.CLIENT)
    engine.receive_data(encode_record(ContentType.handshake, 0x0303, good + b"\x63\x00\x00\x00"))
    assert isinstance(engine.next_event(), HandshakeReceived)
    with pytest.raises(TLSAlert):
        engine.next_event()


# --- cipher suite table -----------------------------------------------------------


def test_suite_table_matches_openssl_names_and_code_points() -> None:
    """Every (code point, IANA name, OpenSSL name) row agrees with ``openssl ciphers``."""
    listing = subprocess.run(
        ["openssl", "ciphers", "-stdname", "-V", "ALL:@SECLEVEL=0"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    rows = {
        int(m[1] + m[2], 16): (m[3], m[4])
        for m in re.finditer(r"0x(..),0x(..) - (\S+)\s+- (\S+)", listing)
    }
    for suite in SUITES:
        assert rows.get(suite.code) == (suite.iana, suite.openssl), suite


def test_suite_lookup_by_either_name() -> None:
    assert suite_by_name("ecdhe-rsa-aes128-gcm-sha256").code == 0xC02F
    assert suite_by_name("TLS_RSA_WITH_AES_128_CBC_SHA").openssl == "AES128-SHA"
    listed = parse_suite_list(
        "AES128-SHA, TLS_RSA_WITH_AES_128_CBC_SHA,ECDHE-RSA-AES128-GCM-SHA256"
    )
    assert [s.code for s in listed] == [0x2F, 0xC02F]
    with pytest.raises(KeyError):
        parse_suite_list("AES128-SHA,NOPE")
    gcm = suite_by_name("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384")
    assert (gcm.prf_hash, gcm.mac, gcm.kx) == ("sha384", None, KeyExchangeKind.DHE_RSA)
    cbc = suite_by_name("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA")
    assert (cbc.prf_hash, cbc.mac, cbc.mac_length) == ("sha256", "sha1", 20)
