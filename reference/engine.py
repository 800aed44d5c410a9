"""The message-level engine: record layer, transcript and key schedule, with no policy.

What it is for: the conforming ``Connection`` drives it in the order TLS 1.2 allows, and test
code drives it in orders TLS 1.2 forbids — a Finished after a skipped message, a CCS before the
ClientKeyExchange, application data before Finished — and in every case the cryptography is
the right one *for the path actually taken*: the transcript holds exactly the messages that
passed, the key schedule uses exactly the secrets that were set.

Theory of operation:

- The engine *observes* every handshake message it sends or receives, and keeps only what the
  RFC computations need: the randoms, the suite and the negotiated EMS / encrypt-then-MAC flags
  (from the ServerHello, RFC 7627 §5.2, RFC 7366 §2), the transcript (RFC 5246 §7.4.9; reset by
  a ClientHello; HelloRequest is never hashed, §7.4.1.1), snapshots of the transcript where later
  computations need them (after ClientKeyExchange for the EMS session hash, RFC 7627 §3; before
  each received Finished and CertificateVerify, to check them), and the last verify_data of each
  side (RFC 5746 §3.1).
- It *decides* nothing: it never rejects a message for arriving out of order and never switches
  keys by itself on receipt. A received CCS is reported; the caller calls
  ``activate_read_keys()`` if it accepts it. That is what lets a fault reproduce a real bug.
- Receiving is pull based: ``next_event()`` decodes records only until one yields an event,
  so a caller can switch read keys between the CCS record and the next one.
- Errors in peer input surface as ``TLSAlert`` from ``next_event()``, after any events that
  preceded the bad data in the same record; afterwards the read side stays failed. Misuse by
  the caller (keys requested before a master secret exists) is ``EngineError``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

from cryptography.hazmat.primitives import constant_time
from tlsmodel.reference.alerts import AlertDescription, AlertLevel, TLSAlert, decode_error
from tlsmodel.reference.codec import (
    TLS1_2,
    Alert,
    CertificateVerify,
    ClientHello,
    ContentType,
    Finished,
    HandshakeMessage,
    HandshakeType,
    ServerHello,
    ServerKeyExchange,
    decode_alert,
    decode_ccs,
    decode_handshake,
    encode_alert,
    encode_ccs,
    encode_handshake,
)
from tlsmodel.reference.extensions import EncryptThenMac, ExtendedMasterSecret, find_extension
from tlsmodel.reference.keyexchange import KeyExchange
from tlsmodel.reference.keys import (
    CLIENT_FINISHED,
    SERVER_FINISHED,
    Transcript,
    extended_master_secret,
    key_material,
    master_secret,
    verify_data,
)
from tlsmodel.reference.protection import NullProtection, RecordProtection, protection_for
from tlsmodel.reference.record import (
    DEFAULT_MAX_HANDSHAKE,
    HandshakeReassembler,
    RecordReader,
    fragment_payload,
    record_header,
)
from tlsmodel.reference.signatures import PrivateKey, PublicKey, sign, verify
from tlsmodel.reference.suites import CipherKind, CipherSuite, KeyExchangeKind, suite_by_code


class Role(Enum):
    CLIENT = "client"
    SERVER = "server"


class EngineError(Exception):
    """The caller asked for something the path so far cannot provide (never a peer's fault)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HandshakeReceived:
    message: HandshakeMessage
    raw: bytes  # the message exactly as received, header included


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeCipherSpecReceived:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertReceived:
    level: AlertLevel
    description: AlertDescription


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationDataReceived:
    data: bytes


EngineEvent = HandshakeReceived | ChangeCipherSpecReceived | AlertReceived | ApplicationDataReceived


class Engine:
    """One endpoint's record layer and key schedule (see the module docstring)."""

    def __init__(self, role: Role, *, max_handshake_size: int = DEFAULT_MAX_HANDSHAKE) -> None:
        self.role = role
        self.record_version = TLS1_2
        self.client_random = b""
        self.server_random = b""
        self.session_id = b""
        self.suite: CipherSuite | None = None
        self.extended_master_secret = False
        self.encrypt_then_mac = False
        self.master_secret: bytes | None = None
        self.client_verify_data = b""
        self.server_verify_data = b""
        self.transcript = Transcript()
        self.read_protection: RecordProtection = NullProtection()
        self.write_protection: RecordProtection = NullProtection()
        self._session_hash_point: Transcript | None = None
        self._before_finished: Transcript | None = None
        self._before_certificate_verify: Transcript | None = None
        self._reader = RecordReader()
        self._reassembler = HandshakeReassembler(max_handshake_size)
        self._events: deque[EngineEvent | TLSAlert] = deque()
        self._failed: TLSAlert | None = None
        self._handshake_out = bytearray()
        self._out: list[bytes] = []  # record headers and bodies, joined once when taken

    # ----------------------------------------------------------------- derived state

    @property
    def kx_kind(self) -> KeyExchangeKind | None:
        return self.suite.kx if self.suite else None

    def _require_suite(self) -> CipherSuite:
        if self.suite is None:
            raise EngineError("no cipher suite: no ServerHello with a known suite has passed")
        return self.suite

    def _require_master(self) -> bytes:
        if self.master_secret is None:
            raise EngineError("no master secret: call set_premaster_secret/set_master_secret")
        return self.master_secret

    # ----------------------------------------------------------------- observation

    def _observe(self, msg: HandshakeMessage, raw: bytes, *, sent: bool) -> None:
        """Update the path state for one handshake message passing in either direction."""
        if isinstance(msg, ClientHello):
            # A new handshake (first or renegotiation) starts a new transcript and key schedule.
            self.transcript.reset()
            self.client_random = msg.random
            self.suite = None
            self.master_secret = None
            self.extended_master_secret = self.encrypt_then_mac = False
            self._session_hash_point = self._before_finished = None
            self._before_certificate_verify = None
        elif isinstance(msg, ServerHello):
            self.server_random = msg.random
            self.session_id = msg.session_id
            self.suite = suite_by_code(msg.cipher_suite)
            self.extended_master_secret = (
                find_extension(msg.extensions, ExtendedMasterSecret) is not None
            )
            self.encrypt_then_mac = (
                self.suite is not None
                and self.suite.bulk.kind is CipherKind.CBC
                and find_extension(msg.extensions, EncryptThenMac) is not None
            )
        if msg.msg_type == HandshakeType.hello_request:
            return  # RFC 5246 §7.4.1.1: not included in the handshake hashes
        if not sent and isinstance(msg, Finished):
            self._before_finished = self.transcript.copy()
        if not sent and isinstance(msg, CertificateVerify):
            self._before_certificate_verify = self.transcript.copy()
        self.transcript.update(raw)
        if msg.msg_type == HandshakeType.client_key_exchange:
            self._session_hash_point = self.transcript.copy()
        if isinstance(msg, Finished):
            from_client = (self.role is Role.CLIENT) == sent
            if from_client:
                self.client_verify_data = msg.verify_data
            else:
                self.server_verify_data = msg.verify_data

    # ----------------------------------------------------------------- sending

    def _flush_handshake(self) -> None:
        if self._handshake_out:
            data = bytes(self._handshake_out)
            self._handshake_out.clear()
            for piece in fragment_payload(data):
                self._emit(ContentType.handshake, piece)

    def _emit(self, content_type: int, plaintext: bytes) -> None:
        protected = self.write_protection.encrypt(content_type, self.record_version, plaintext)
        self._out.append(record_header(content_type, self.record_version, len(protected)))
        self._out.append(protected)

    def send_handshake(self, msg: HandshakeMessage) -> bytes:
        """Queue one handshake message (consecutive ones share records up to 2^14 bytes)."""
        raw = encode_handshake(msg)
        self._observe(msg, raw, sent=True)
        self._handshake_out += raw
        return raw

    def send_handshake_raw(self, raw: bytes, *, hash_it: bool = True) -> None:
        """Queue arbitrary handshake-layer bytes (deviant messages); optionally hash them."""
        if hash_it:
            self.transcript.update(raw)
        self._handshake_out += raw

    def send_change_cipher_spec(self, *, activate: bool = True) -> None:
        """Send CCS (RFC 5246 §7.1) and, unless told not to, switch the write side to the
        pending keys — records after this one are protected with them. The keys are derived
        first, so an EngineError (no suite or master secret yet) leaves nothing half sent."""
        pending = self._new_protection(for_writing=True) if activate else None
        self._flush_handshake()
        self._emit(ContentType.change_cipher_spec, encode_ccs())
        if pending is not None:
            self.write_protection = pending

    def send_alert(
        self, description: AlertDescription, level: AlertLevel = AlertLevel.fatal
    ) -> None:
        """An alert record (RFC 5246 §7.2); the engine does not close anything by itself."""
        self._flush_handshake()
        self._emit(ContentType.alert, encode_alert(Alert(level, description)))

    def send_application_data(self, data: bytes) -> None:
        """Application data in records of at most 2^14 bytes, at any point of the path (empty
        data gives one zero-length record, which RFC 5246 §6.2.1 allows)."""
        self._flush_handshake()
        for piece in fragment_payload(data):
            self._emit(ContentType.application_data, piece)

    def send_record(self, content_type: int, payload: bytes) -> None:
        """One record with any type and payload under the current write protection."""
        self._flush_handshake()
        self._emit(content_type, payload)

    def data_to_send(self) -> bytes:
        """Everything queued so far, as wire bytes (pending handshake messages included)."""
        self._flush_handshake()
        out = b"".join(self._out)
        self._out.clear()
        return out

    # ----------------------------------------------------------------- receiving

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the peer; nothing is decoded until ``next_event()``."""
        self._reader.feed(data)

    def next_event(self) -> EngineEvent | None:
        """The next event, or None when more bytes are needed. Raises TLSAlert."""
        if self._failed is not None:
            raise self._failed
        try:
            while not self._events and self._process_one_record():
                pass
        except TLSAlert as alert:
            self._events.append(alert)
        if not self._events:
            return None
        item = self._events.popleft()
        if isinstance(item, TLSAlert):
            self._failed = item
            raise item
        return item

    def _process_one_record(self) -> bool:
        """Decode the next buffered record into events; False if no complete record."""
        record = self._reader.next_record()
        if record is None:
            return False
        plaintext = self.read_protection.decrypt(
            record.content_type, record.version, record.fragment
        )
        content_type = record.content_type
        if content_type == ContentType.handshake:
            if not plaintext:
                # RFC 5246 §6.2.1: zero-length handshake fragments MUST NOT be sent.
                raise decode_error("empty handshake record")
            for message in self._reassembler.feed(plaintext):
                msg = decode_handshake(message.msg_type, message.body, self.kx_kind)
                self._observe(msg, message.raw, sent=False)
                self._events.append(HandshakeReceived(message=msg, raw=message.raw))
            return True
        if content_type == ContentType.change_cipher_spec:
            decode_ccs(plaintext)
            if self._reassembler.pending:
                # The key change would split a handshake message across epochs.
                raise TLSAlert(
                    AlertDescription.unexpected_message, "CCS inside a handshake message"
                )
            self._events.append(ChangeCipherSpecReceived())
        elif content_type == ContentType.alert:
            alert = decode_alert(plaintext)
            self._events.append(AlertReceived(level=alert.level, description=alert.description))
        else:
            self._events.append(ApplicationDataReceived(data=plaintext))
        return True

    def activate_read_keys(self) -> None:
        """Switch the read side to the pending keys (after the caller accepted a CCS)."""
        self.read_protection = self._new_protection(for_writing=False)

    # ----------------------------------------------------------------- key schedule

    def set_premaster_secret(self, pre_master: bytes) -> None:
        """Derive the master secret (RFC 5246 §8.1, or RFC 7627 §4 when EMS was negotiated).

        The EMS session hash covers the transcript up to and including the last
        ClientKeyExchange that passed — or, on a path with no ClientKeyExchange, the
        transcript so far.
        """
        suite = self._require_suite()
        if self.extended_master_secret:
            point = self._session_hash_point or self.transcript
            session_hash = point.digest(suite.prf_hash)
            self.master_secret = extended_master_secret(suite.prf_hash, pre_master, session_hash)
        else:
            self.master_secret = master_secret(
                suite.prf_hash, pre_master, self.client_random, self.server_random
            )

    def set_master_secret(self, secret: bytes) -> None:
        """Use a known master secret (session resumption, RFC 5246 §7.3)."""
        self.master_secret = secret

    def keylog_line(self) -> str | None:
        """The NSS key log line (``CLIENT_RANDOM <client_random> <master_secret>``, the
        SSLKEYLOGFILE format OpenSSL, GnuTLS and Wireshark share) for the current handshake,
        or None before a master secret exists. Lets tshark decrypt a capture of this engine."""
        if self.master_secret is None or not self.client_random:
            return None
        return f"CLIENT_RANDOM {self.client_random.hex()} {self.master_secret.hex()}"

    def _new_protection(self, *, for_writing: bool) -> RecordProtection:
        suite = self._require_suite()
        keys = key_material(suite, self._require_master(), self.client_random, self.server_random)
        client_side = (self.role is Role.CLIENT) == for_writing
        if client_side:
            key, mac_key, iv = (
                keys.client_write_key,
                keys.client_write_mac_key,
                keys.client_write_iv,
            )
        else:
            key, mac_key, iv = (
                keys.server_write_key,
                keys.server_write_mac_key,
                keys.server_write_iv,
            )
        return protection_for(suite, key, mac_key, iv, encrypt_then_mac=self.encrypt_then_mac)

    def _verify_data(self, label: bytes, transcript: Transcript) -> bytes:
        suite = self._require_suite()
        return verify_data(
            suite.prf_hash, self._require_master(), label, transcript.digest(suite.prf_hash)
        )

    def finished(self) -> Finished:
        """Our Finished over the transcript so far (RFC 5246 §7.4.9)."""
        label = CLIENT_FINISHED if self.role is Role.CLIENT else SERVER_FINISHED
        return Finished(self._verify_data(label, self.transcript))

    def verify_finished(self, msg: Finished) -> bool:
        """Whether a received Finished is right for the transcript before it (constant time).
        False when it cannot be right: no suite, no master secret, or never received."""
        if self._before_finished is None or self.suite is None or self.master_secret is None:
            return False
        label = SERVER_FINISHED if self.role is Role.CLIENT else CLIENT_FINISHED
        return constant_time.bytes_eq(
            msg.verify_data, self._verify_data(label, self._before_finished)
        )

    # ----------------------------------------------------------------- signatures

    def _signed_params_input(self, msg_params: bytes) -> bytes:
        """RFC 5246 §7.4.3: signed over client_random + server_random + params."""
        return self.client_random + self.server_random + msg_params

    def server_key_exchange(
        self, kx: KeyExchange, key: PrivateKey, scheme: int
    ) -> ServerKeyExchange:
        params = kx.server_params()
        if params is None:
            raise EngineError("this key exchange sends no ServerKeyExchange")
        signed = sign(key, scheme, self._signed_params_input(params.encode()))
        return ServerKeyExchange(params, signed)

    def verify_server_key_exchange(
        self, msg: ServerKeyExchange, public_key: PublicKey, allowed: tuple[int, ...]
    ) -> None:
        verify(public_key, msg.signed, self._signed_params_input(msg.params.encode()), allowed)

    def certificate_verify(self, key: PrivateKey, scheme: int) -> CertificateVerify:
        """RFC 5246 §7.4.8: a signature over all handshake messages so far."""
        return CertificateVerify(sign(key, scheme, self.transcript.data))

    def verify_certificate_verify(
        self, msg: CertificateVerify, public_key: PublicKey, allowed: tuple[int, ...]
    ) -> None:
        if self._before_certificate_verify is None:
            raise EngineError("no CertificateVerify has been received")
        verify(public_key, msg.signed, self._before_certificate_verify.data, allowed)
