"""Fuzzing the reference's decoders with hypothesis: whatever arrives, the only exception is
TLSAlert, and nothing hangs.

Inputs: random bytes, and mutations (flips, insertions, deletions, truncations, byte sets) of
valid material — plaintext handshake flights of both roles and protected records of each
record-protection kind — plus hostile key exchange values and signatures.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tlsmodel.reference.alerts import TLSAlert
from tlsmodel.reference.codec import (
    TLS1_2,
    Certificate,
    ClientHello,
    DigitallySigned,
    Finished,
    HandshakeType,
    ServerDHParams,
    ServerECDHParams,
    ServerHello,
    ServerHelloDone,
    decode_handshake,
    encode_handshake,
)
from tlsmodel.reference.engine import Engine, Role
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
)
from tlsmodel.reference.keyexchange import DHEKeyExchange, ECDHEKeyExchange, key_exchange_for
from tlsmodel.reference.signatures import OFFERED_SCHEMES, verify
from tlsmodel.reference.suites import KeyExchangeKind, suite_by_name

# Example counts come from the suite's hypothesis profile (tests/conftest.py: modest by
# default, ``HYPOTHESIS_PROFILE=heavy`` for a long run); these settings only add what fuzzing
# large inputs needs.
FUZZ = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
KINDS = [None, *KeyExchangeKind]


def _only_alerts(call: Callable[..., object], *args: object, **kwargs: object) -> None:
    """Run ``call``; a TLSAlert is the expected outcome for bad input, anything else fails."""
    with contextlib.suppress(TLSAlert):
        call(*args, **kwargs)


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A valid input with a few random edits."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "set"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[pos:]
        elif op == "set" and data:
            data[pos] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF]))
    return bytes(data)


# --- message and extension decoders ----------------------------------------------------


@FUZZ
@given(
    msg_type=st.sampled_from([*HandshakeType, 3, 99, 255]),
    body=st.binary(max_size=600),
    kx=st.sampled_from(KINDS),
)
def test_decode_handshake_random_bytes(msg_type: int, body: bytes, kx: object) -> None:
    _only_alerts(decode_handshake, int(msg_type), body, kx)


@FUZZ
@given(data=st.binary(max_size=300), in_client=st.booleans())
def test_decode_extensions_random_bytes(data: bytes, in_client: bool) -> None:
    _only_alerts(decode_extensions, data, in_client_hello=in_client)


def _client_flight() -> bytes:
    client = Engine(Role.CLIENT)
    exts = (
        ServerName("localhost"),
        SupportedGroups((29, 23, 256)),
        ECPointFormats(),
        SignatureAlgorithms(OFFERED_SCHEMES),
        StatusRequest(),
        ExtendedMasterSecret(),
        EncryptThenMac(),
        RenegotiationInfo(),
    )
    client.send_handshake(ClientHello(TLS1_2, bytes(32), b"", (0xC02F, 0x2F), (0,), exts))
    return client.data_to_send()


def _server_flight(suite_name: str) -> bytes:
    suite = suite_by_name(suite_name)
    key = ec.generate_private_key(ec.SECP256R1())
    server = Engine(Role.SERVER)
    server.send_handshake(
        ServerHello(TLS1_2, bytes(32), b"\x01" * 32, suite.code, 0, (ExtendedMasterSecret(),))
    )
    server.send_handshake(Certificate((b"\x30\x82\x01\x00" + bytes(256),)))
    if suite.kx.ephemeral:
        group = 256 if suite.kx is KeyExchangeKind.DHE_RSA else 23
        kx = key_exchange_for(suite, group=group)
        signer = key if suite.kx is KeyExchangeKind.ECDHE_ECDSA else _rsa_key()
        scheme = 0x0403 if suite.kx is KeyExchangeKind.ECDHE_ECDSA else 0x0804
        server.send_handshake(server.server_key_exchange(kx, signer, scheme))
    server.send_handshake(ServerHelloDone())
    return server.data_to_send()


_RSA: list[rsa.RSAPrivateKey] = []


def _rsa_key() -> rsa.RSAPrivateKey:
    if not _RSA:
        _RSA.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _RSA[0]


SERVER_FLIGHTS = [
    _server_flight(n)
    for n in ("ECDHE-ECDSA-AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256", "AES128-SHA")
]
CLIENT_FLIGHTS = [_client_flight()]


def _drain(engine: Engine, data: bytes, total: int = 0) -> None:
    """Feed the engine and pull events until it needs data or fails; bounded, since every
    event consumes at least one byte of input (``total``: all bytes fed so far, if more than
    ``data``, as events can come from bytes buffered earlier)."""
    engine.receive_data(data)
    for _ in range(max(total, len(data)) + 2):
        if engine.next_event() is None:
            return
    raise AssertionError("engine produced more events than input bytes")


@FUZZ
@given(data=st.binary(max_size=2000), role=st.sampled_from(list(Role)))
def test_engine_random_bytes(data: bytes, role: Role) -> None:
    _only_alerts(_drain, Engine(role), data)


@FUZZ
@given(data=mutated(CLIENT_FLIGHTS))
def test_server_engine_mutated_client_flight(data: bytes) -> None:
    _only_alerts(_drain, Engine(Role.SERVER), data)


@FUZZ
@given(data=mutated(SERVER_FLIGHTS), split=st.integers(0, 4000))
def test_client_engine_mutated_server_flight(data: bytes, split: int) -> None:
    """Also delivered in two pieces, to exercise partial records and partial messages."""
    engine = Engine(Role.CLIENT)

    def feed() -> None:
        _drain(engine, data[:split])
        _drain(engine, data[split:], total=len(data))

    _only_alerts(feed)


# --- protected records ---------------------------------------------------------------

PROTECTED_SUITES = [
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-RSA-AES128-SHA",  # MAC-then-encrypt
    "ECDHE-RSA-AES256-SHA384+etm",  # encrypt-then-MAC
]


def _keyed_pair(name: str) -> tuple[Engine, Engine]:
    """A client whose write side and a server whose read side share keys, without a
    handshake: both observe the same ServerHello and master secret (the engine has no
    ordering policy, which is exactly what makes this possible)."""
    suite_name, _, flag = name.partition("+")
    suite = suite_by_name(suite_name)
    exts = (EncryptThenMac(),) if flag == "etm" else ()
    hello = ServerHello(TLS1_2, bytes(32), b"", suite.code, 0, exts)
    client, server = Engine(Role.CLIENT), Engine(Role.SERVER)
    for engine in (client, server):
        engine.send_handshake(hello)
        engine.data_to_send()
        engine.set_master_secret(bytes(48))
    client.send_change_cipher_spec()
    client.data_to_send()
    server.activate_read_keys()
    return client, server


def _protected_stream(name: str) -> bytes:
    client, _ = _keyed_pair(name)
    client.send_handshake(Finished(bytes(12)))
    client.send_application_data(b"x" * 300)
    client.send_application_data(b"")
    client.send_alert(0)  # type: ignore[arg-type]
    return client.data_to_send()


@pytest.mark.parametrize("name", PROTECTED_SUITES)
def test_protected_stream_is_valid(name: str) -> None:
    """The seed of the next test decrypts cleanly (so its mutations start from valid input)."""
    _, server = _keyed_pair(name)
    server.receive_data(_protected_stream(name))
    events = []
    while (event := server.next_event()) is not None:
        events.append(type(event).__name__)
    assert events == [
        "HandshakeReceived",
        "ApplicationDataReceived",
        "ApplicationDataReceived",
        "AlertReceived",
    ]


@pytest.mark.parametrize("name", PROTECTED_SUITES)
def test_mutated_protected_records(name: str) -> None:
    seed = _protected_stream(name)

    @FUZZ
    @given(data=mutated([seed]))
    def run(data: bytes) -> None:
        _, server = _keyed_pair(name)
        _only_alerts(_drain, server, data)

    run()


# --- key exchange and signature checks on hostile values ----------------------------


@FUZZ
@given(
    curve=st.sampled_from([23, 24, 29, 25, 0]),
    point=st.one_of(
        st.binary(min_size=1, max_size=100),
        st.builds(lambda b: b"\x04" + b, st.binary(min_size=64, max_size=64)),
    ),
)
def test_ecdhe_hostile_points(curve: int, point: bytes) -> None:
    def run() -> None:
        kx = ECDHEKeyExchange()
        kx.process_server_params(ServerECDHParams(curve, point))
        kx.client_key_exchange()

    _only_alerts(run)


@FUZZ
@given(
    p=st.one_of(st.integers(3, 2**64), st.integers(2**2047, 2**2049)),
    g=st.integers(0, 2**16),
    ys=st.integers(0, 2**2048),
)
def test_dhe_hostile_params(p: int, g: int, ys: int) -> None:
    def run() -> None:
        kx = DHEKeyExchange()
        kx.process_server_params(
            ServerDHParams(
                p.to_bytes(p.bit_length() // 8 + 1, "big"),
                g.to_bytes(3, "big"),
                ys.to_bytes(ys.bit_length() // 8 + 1, "big"),
            )
        )
        kx.client_key_exchange()

    _only_alerts(run)


@FUZZ
@given(scheme=st.sampled_from([*OFFERED_SCHEMES, 0x0201, 0x0000]), sig=st.binary(max_size=300))
def test_signature_verify_hostile(scheme: int, sig: bytes) -> None:
    public = (
        ec.generate_private_key(ec.SECP256R1()).public_key()
        if scheme % 2
        else _rsa_key().public_key()
    )
    _only_alerts(verify, public, DigitallySigned(scheme, sig), b"data", OFFERED_SCHEMES)


# --- properties of valid input ------------------------------------------------------


@FUZZ
@given(
    cuts=st.lists(st.integers(1, 700), min_size=1, max_size=40),
    coalesce=st.booleans(),
)
def test_any_record_boundaries_reassemble_the_same_messages(
    cuts: list[int], coalesce: bool
) -> None:
    """RFC 5246 §6.2.1: message boundaries are not record boundaries. Whatever fragment sizes
    a sender picks, the receiver gets the same messages, in order, with the same raw bytes."""
    sender = Engine(Role.CLIENT)
    sender.receive_data(SERVER_FLIGHTS[0])
    originals = []
    while (event := sender.next_event()) is not None:
        originals.append(event)
    stream = b"".join(e.raw for e in originals)  # type: ignore[union-attr]
    records = b""
    pos, i = 0, 0
    while pos < len(stream):
        size = cuts[i % len(cuts)] if not coalesce else len(stream)
        piece = stream[pos : pos + size]
        records += b"\x16\x03\x03" + len(piece).to_bytes(2, "big") + piece
        pos, i = pos + size, i + 1
    receiver = Engine(Role.CLIENT)
    receiver.receive_data(records)
    received = []
    while (event := receiver.next_event()) is not None:
        received.append(event)
    assert received == originals


@FUZZ
@given(
    version=st.integers(0, 0xFFFF),
    session_id=st.binary(max_size=32),
    suites=st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=50).map(tuple),
    compression=st.lists(st.integers(0, 255), min_size=1, max_size=5).map(tuple),
    host=st.one_of(
        st.none(), st.from_regex(r"[a-z0-9]{1,20}(\.[a-z0-9]{1,20}){0,3}", fullmatch=True)
    ),
    groups=st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=10).map(tuple),
    schemes=st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=10).map(tuple),
    ticket=st.binary(max_size=200),
    reneg=st.binary(max_size=64),
    unknown=st.dictionaries(st.integers(0x3000, 0x3FFF), st.binary(max_size=20), max_size=3),
)
def test_client_hello_round_trips(
    version: int,
    session_id: bytes,
    suites: tuple[int, ...],
    compression: tuple[int, ...],
    host: str | None,
    groups: tuple[int, ...],
    schemes: tuple[int, ...],
    ticket: bytes,
    reneg: bytes,
    unknown: dict[int, bytes],
) -> None:
    exts = [
        SupportedGroups(groups),
        SignatureAlgorithms(schemes),
        SessionTicket(ticket),
        RenegotiationInfo(reneg),
        *(UnknownExtension(t, d) for t, d in unknown.items()),
    ]
    if host is not None:
        exts.insert(0, ServerName(host))
    hello = ClientHello(version, bytes(32), session_id, suites, compression, tuple(exts))
    raw = encode_handshake(hello)
    assert decode_handshake(raw[0], raw[4:], None) == hello
