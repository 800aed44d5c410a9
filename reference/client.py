"""The client role: one ClientHello, then exactly what RFC 5246 lets a server send back.

Full handshake (§7.3): ServerHello, Certificate, [CertificateStatus if status_request was
acknowledged, RFC 6066 §8 — still optional], ServerKeyExchange iff (EC)DHE (§7.4.3),
[CertificateRequest], ServerHelloDone; our flight; [NewSessionTicket iff the ServerHello
carried session_ticket, RFC 5077 §3.3]; ChangeCipherSpec; Finished. Abbreviated handshake
(§7.3, RFC 5077 §3.1): ServerHello echoing our session ID, [NewSessionTicket], CCS,
Finished, then our CCS and Finished. A HelloRequest is answered with a secure renegotiation
(RFC 5746) or a warning no_renegotiation when established, and ignored mid-handshake (§7.4.1.1).
"""

from __future__ import annotations

from enum import Enum, auto

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from tlsmodel.reference import events as ev
from tlsmodel.reference import rsaparams
from tlsmodel.reference.alerts import AlertDescription, AlertLevel, TLSAlert
from tlsmodel.reference.certs import CertificateRejected, check_ocsp, parse_chain, verify_server
from tlsmodel.reference.codec import (
    TLS1_2,
    Certificate,
    CertificateRequest,
    CertificateStatus,
    ChangeCipherSpec,
    ClientCertificateType,
    Finished,
    HandshakeMessage,
    HelloRequest,
    NamedGroup,
    NewSessionTicket,
    OpaqueHandshake,
    ServerECDHParams,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
)
from tlsmodel.reference.config import ClientConfig, Credential
from tlsmodel.reference.connection import Connection, ConnectionStateError, unexpected
from tlsmodel.reference.engine import Role
from tlsmodel.reference.extensions import (
    ExtensionType,
    RenegotiationInfo,
    find_extension,
)
from tlsmodel.reference.faults import Fault
from tlsmodel.reference.hello import client_hello
from tlsmodel.reference.keyexchange import (
    DHEKeyExchange,
    ECDHEKeyExchange,
    KeyExchange,
    RSAKeyExchange,
)
from tlsmodel.reference.session import Session
from tlsmodel.reference.signatures import choose_scheme
from tlsmodel.reference.suites import CipherSuite, KeyExchangeKind, suite_by_code
from tlsmodel.reference.trace import handshake_entry

_CURVE_GROUPS = {"secp256r1": NamedGroup.secp256r1, "secp384r1": NamedGroup.secp384r1}


class State(Enum):
    WAIT_SERVER_HELLO = auto()
    WAIT_CERTIFICATE = auto()
    WAIT_CERTIFICATE_STATUS = auto()  # optional
    WAIT_SERVER_KEY_EXCHANGE = auto()  # only for (EC)DHE; optional only under faults
    WAIT_CERTIFICATE_REQUEST = auto()  # optional
    WAIT_SERVER_HELLO_DONE = auto()
    WAIT_NEW_SESSION_TICKET = auto()
    WAIT_CHANGE_CIPHER_SPEC = auto()  # optional only under a fault
    WAIT_FINISHED = auto()
    ESTABLISHED = auto()


def _rejected(exc: CertificateRejected) -> TLSAlert:
    return TLSAlert(AlertDescription[exc.description], str(exc))


class ClientConnection(Connection):
    """A TLS 1.2 client; the ClientHello is queued at construction (take ``data_to_send``)."""

    role = "client"
    peer = "server"
    _engine_role = Role.CLIENT
    _OPTIONAL = frozenset({State.WAIT_CERTIFICATE_STATUS, State.WAIT_CERTIFICATE_REQUEST})

    def __init__(self, config: ClientConfig, session: Session | None = None) -> None:
        if config.anchors is not None and not config.server_name:
            raise ValueError("verifying the server needs config.server_name")
        super().__init__(config.faults)
        self._chain: tuple[bytes, ...] = ()
        self._config = config
        self._offer = session if session is not None and self._can_offer(session) else None
        self._secure = False  # RFC 5746: the server acknowledged renegotiation_info
        self._start_handshake()

    def _initial_state(self) -> Enum:
        return State.WAIT_SERVER_HELLO

    def _can_offer(self, session: Session) -> bool:
        return (
            session.extended_master_secret == self._config.extended_master_secret
            and any(s.code == session.cipher_suite for s in self._config.suites)
            and (session.ticket is None or self._config.session_tickets)
        )

    # --- public ----------------------------------------------------------------------------

    def renegotiate(self) -> None:
        """Start a client-initiated secure renegotiation (RFC 5746)."""
        if self._dead or self._state is not State.ESTABLISHED:
            raise ConnectionStateError("renegotiation needs an established, idle connection")
        if not self._secure:
            raise ConnectionStateError("server does not support secure renegotiation")
        self._renegotiation_asked = True
        self._offer = None
        self._start_handshake()
        self._state = State.WAIT_SERVER_HELLO

    # --- the ClientHello -------------------------------------------------------------------

    def _start_handshake(self) -> None:
        cfg = self._config
        self._suite: CipherSuite | None = None
        self._resumed = False
        self._server_exts: frozenset[int] = frozenset()
        # A renegotiation must not switch server identity (the triple-handshake attack
        # swapped certificates under an unchanged connection): remember the current one.
        self._identity = self._chain[0] if self._established and self._chain else None
        self._chain: tuple[bytes, ...] = ()
        self._peer_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | None = None
        self._rsa_override: rsa.RSAPublicKey | None = None
        self._kx: KeyExchange | None = None
        self._request: CertificateRequest | None = None
        self._ocsp: bytes | None = None
        self._ticket: NewSessionTicket | None = None
        renegotiating = self._engine.client_verify_data if self._established else b""
        hello = client_hello(cfg, self._offer, renegotiating)
        self._offered_exts = frozenset(e.ext_type for e in hello.extensions or ())
        self._offered_id = hello.session_id
        self._send(hello)

    def _is_resumption(self, msg: ServerHello) -> bool:
        return (
            self._offer is not None and bool(msg.session_id) and msg.session_id == self._offered_id
        )

    def _received_entry(self, message: HandshakeMessage) -> ev.LoggedMessage:
        if isinstance(message, ServerHello):
            return handshake_entry(self.peer, message, resumed=self._is_resumption(message))
        return handshake_entry(self.peer, message)

    # --- dispatch hooks --------------------------------------------------------------------

    def _handle(self, message: object) -> None:
        if isinstance(message, HelloRequest) and self._state is not State.ESTABLISHED:
            return  # §7.4.1.1: ignored while negotiating
        super()._handle(message)

    def _optional(self, state: Enum) -> bool:
        kx = self._suite.kx if self._suite else None
        if state is State.WAIT_SERVER_KEY_EXCHANGE:
            return (
                kx is not None and kx.ephemeral and Fault.SKIP_SERVER_KEY_EXCHANGE in self._faults
            ) or (
                kx is KeyExchangeKind.RSA and Fault.ACCEPT_RSA_SERVER_KEY_EXCHANGE in self._faults
            )
        if state is State.WAIT_CHANGE_CIPHER_SPEC:
            return Fault.FINISHED_WITHOUT_CCS in self._faults
        return super()._optional(state)

    def _skip(self, state: Enum) -> Enum:
        if state is State.WAIT_CERTIFICATE_STATUS:
            return self._after_certificate_status()
        if state is State.WAIT_SERVER_KEY_EXCHANGE:
            return State.WAIT_CERTIFICATE_REQUEST
        if state is State.WAIT_CERTIFICATE_REQUEST:
            return State.WAIT_SERVER_HELLO_DONE
        return State.WAIT_FINISHED  # WAIT_CHANGE_CIPHER_SPEC under FINISHED_WITHOUT_CCS

    def _after_certificate_status(self) -> State:
        assert self._suite is not None
        rsa_ske_fault = (
            self._suite.kx is KeyExchangeKind.RSA
            and Fault.ACCEPT_RSA_SERVER_KEY_EXCHANGE in self._faults
        )
        if self._suite.kx.ephemeral or rsa_ske_fault:
            return State.WAIT_SERVER_KEY_EXCHANGE
        return State.WAIT_CERTIFICATE_REQUEST

    def _reading_finished(self) -> bool:
        return self._state is State.WAIT_FINISHED

    def _on_renegotiation_declined(self) -> None:
        self._state = State.ESTABLISHED  # the current session simply goes on

    def _on_failure(self) -> None:
        """Nothing to forget: a client's sessions live with its caller."""

    # --- handlers --------------------------------------------------------------------------

    def _on_server_hello(self, msg: ServerHello) -> State:
        if msg.version != TLS1_2:
            raise TLSAlert(AlertDescription.protocol_version, f"server chose {msg.version:#06x}")
        suite = suite_by_code(msg.cipher_suite)
        if suite is None or suite not in self._config.suites:
            raise TLSAlert(AlertDescription.illegal_parameter, "server chose a suite not offered")
        if msg.compression_method != 0:
            raise TLSAlert(AlertDescription.illegal_parameter, "server chose compression")
        types = frozenset(e.ext_type for e in msg.extensions or ())
        if not types <= self._offered_exts:
            raise TLSAlert(AlertDescription.unsupported_extension, "extension not offered")
        self._check_renegotiation_info(find_extension(msg.extensions, RenegotiationInfo))
        self._suite, self._server_exts = suite, types
        self._resumed = self._is_resumption(msg)
        if self._resumed:
            assert self._offer is not None
            if suite.code != self._offer.cipher_suite:
                raise TLSAlert(AlertDescription.illegal_parameter, "resumed with another suite")
            if self._engine.extended_master_secret != self._offer.extended_master_secret:
                # RFC 7627 §5.3: the EMS state of a resumed session must not change.
                raise TLSAlert(AlertDescription.handshake_failure, "EMS differs from session")
            self._engine.set_master_secret(self._offer.master_secret)
            self._chain = self._offer.peer_certificates
        return self._ticket_or_ccs() if self._resumed else State.WAIT_CERTIFICATE

    def _check_renegotiation_info(self, info: RenegotiationInfo | None) -> None:
        """RFC 5746 §3.4 (initial) and §3.5 (renegotiation)."""
        if not self._established:
            if info is not None and info.renegotiated_connection:
                raise TLSAlert(AlertDescription.handshake_failure, "non-empty renegotiation_info")
            self._secure = info is not None
            return
        expected = self._engine.client_verify_data + self._engine.server_verify_data
        if info is None or info.renegotiated_connection != expected:
            raise TLSAlert(AlertDescription.handshake_failure, "bad renegotiation_info")

    def _ticket_or_ccs(self) -> State:
        if ExtensionType.session_ticket in self._server_exts:
            return State.WAIT_NEW_SESSION_TICKET
        return State.WAIT_CHANGE_CIPHER_SPEC

    def _on_certificate(self, msg: Certificate) -> State:
        assert self._suite is not None
        if not msg.certificate_list:
            raise TLSAlert(AlertDescription.bad_certificate, "server sent no certificate")
        if self._identity is not None and msg.certificate_list[0] != self._identity:
            raise TLSAlert(AlertDescription.bad_certificate, "server certificate changed")
        try:
            if self._config.anchors is not None:
                assert self._config.server_name is not None
                chain = verify_server(
                    msg.certificate_list, self._config.anchors, self._config.server_name
                )
            else:
                chain = parse_chain(msg.certificate_list)
        except CertificateRejected as exc:
            raise _rejected(exc) from None
        key = chain[0].public_key()
        wanted = (
            rsa.RSAPublicKey if self._suite.kx.signature_key == "rsa" else ec.EllipticCurvePublicKey
        )
        if not isinstance(key, wanted):
            raise TLSAlert(AlertDescription.unsupported_certificate, "key does not fit the suite")
        self._chain, self._peer_key, self._leaf = msg.certificate_list, key, chain[0]
        return State.WAIT_CERTIFICATE_STATUS

    def _on_certificate_status(self, msg: CertificateStatus) -> State:
        if ExtensionType.status_request not in self._server_exts:
            raise unexpected("CertificateStatus", self._state)
        try:
            check_ocsp(msg.response, self._leaf)
        except CertificateRejected as exc:
            raise _rejected(exc) from None
        self._ocsp = msg.response
        return self._after_certificate_status()

    def _on_server_key_exchange(self, msg: ServerKeyExchange) -> State:
        assert self._suite is not None and self._peer_key is not None
        self._engine.verify_server_key_exchange(msg, self._peer_key, self._config.signature_schemes)
        if isinstance(msg.params, ServerECDHParams):
            if msg.params.named_curve not in self._config.groups:
                raise TLSAlert(AlertDescription.illegal_parameter, "curve not offered")
            kx: KeyExchange = ECDHEKeyExchange()
        else:
            kx = DHEKeyExchange()
        kx.process_server_params(msg.params)
        self._kx = kx
        return State.WAIT_CERTIFICATE_REQUEST

    def _on_rsa_server_key_exchange(self, msg: OpaqueHandshake) -> State:
        """Only reachable with ACCEPT_RSA_SERVER_KEY_EXCHANGE (FREAK): take the offered key."""
        assert isinstance(self._peer_key, rsa.RSAPublicKey)
        if msg.msg_type != 12:
            raise unexpected("ClientKeyExchange", self._state)
        self._rsa_override = rsaparams.verify_rsa_server_key_exchange(
            msg.body,
            self._peer_key,
            self._engine.client_random,
            self._engine.server_random,
            self._config.signature_schemes,
        )
        return State.WAIT_CERTIFICATE_REQUEST

    def _on_certificate_request(self, msg: CertificateRequest) -> State:
        self._request = msg
        return State.WAIT_SERVER_HELLO_DONE

    def _on_server_hello_done(self, msg: ServerHelloDone) -> State:
        kx = self._key_exchange()
        credential, scheme = self._client_credential()
        if self._request is not None:
            self._send(Certificate(credential.chain_der if credential else ()))
        cke, pre_master = kx.client_key_exchange()
        self._send(cke)
        self._engine.set_premaster_secret(pre_master)
        if credential is not None and scheme is not None:
            self._send(self._engine.certificate_verify(credential.key, scheme))
        self._send_finished()
        return self._ticket_or_ccs()

    def _key_exchange(self) -> KeyExchange:
        assert self._suite is not None
        if self._suite.kx is KeyExchangeKind.RSA:
            key = self._rsa_override or self._peer_key
            assert isinstance(key, rsa.RSAPublicKey)
            return RSAKeyExchange(server_public_key=key, client_version=TLS1_2)
        if self._kx is not None:
            return self._kx
        # Only with SKIP_SERVER_KEY_EXCHANGE (CVE-2014-3572): use the certificate's EC key as
        # a static ECDH share, as OpenSSL did; an RSA certificate has nothing to fall back to.
        key = self._peer_key
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in _CURVE_GROUPS:
            raise TLSAlert(AlertDescription.handshake_failure, "no key exchange parameters")
        kx = ECDHEKeyExchange()
        point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        kx.process_server_params(ServerECDHParams(_CURVE_GROUPS[key.curve.name], point))
        return kx

    def _client_credential(self) -> tuple[Credential | None, int | None]:
        """The configured credential and signature scheme if the request allows them."""
        cred, request = self._config.credential, self._request
        if cred is None or request is None:
            return None, None
        wanted = (
            ClientCertificateType.rsa_sign
            if cred.family == "rsa"
            else ClientCertificateType.ecdsa_sign
        )
        if wanted not in request.certificate_types:
            return None, None
        try:
            return cred, choose_scheme(cred.key, request.signature_algorithms)
        except TLSAlert:
            return None, None

    def _on_new_session_ticket(self, msg: NewSessionTicket) -> State:
        self._ticket = msg
        return State.WAIT_CHANGE_CIPHER_SPEC

    def _on_change_cipher_spec(self, msg: ChangeCipherSpec) -> State:
        self._engine.activate_read_keys()
        return State.WAIT_FINISHED

    def _on_finished(self, msg: Finished) -> State:
        if not self._engine.verify_finished(msg):
            raise TLSAlert(AlertDescription.decrypt_error, "server Finished does not verify")
        if self._resumed:
            self._send_finished()
        self._complete()
        return State.ESTABLISHED

    def _complete(self) -> None:
        assert self._suite is not None and self._engine.master_secret is not None
        ticket = self._ticket.ticket if self._ticket and self._ticket.ticket else None
        lifetime = self._ticket.lifetime_hint if ticket and self._ticket else 0
        if ticket is None and self._resumed and self._offer is not None:
            ticket, lifetime = self._offer.ticket, self._offer.ticket_lifetime
        session = Session(
            session_id=self._engine.session_id,
            cipher_suite=self._suite.code,
            master_secret=self._engine.master_secret,
            extended_master_secret=self._engine.extended_master_secret,
            peer_certificates=self._chain,
            created=self._config.clock(),
            server_name=self._config.server_name,
            ticket=ticket,
            ticket_lifetime=lifetime,
        )
        self._handshake_done(
            ev.HandshakeComplete(
                cipher_suite=self._suite.iana,
                resumed=self._resumed,
                renegotiation=self._established,
                session=session,
                peer_certificates=self._chain,
                extended_master_secret=self._engine.extended_master_secret,
                secure_renegotiation=self._secure,
                ocsp_response=self._ocsp,
            )
        )

    def _on_hello_request(self, msg: HelloRequest) -> State:
        if self._config.renegotiation and self._secure:
            self._offer = None
            self._start_handshake()
            return State.WAIT_SERVER_HELLO
        self._send_alert(AlertDescription.no_renegotiation, AlertLevel.warning)
        return State.ESTABLISHED


S = State
C = ClientConnection
ClientConnection._TABLE = {
    S.WAIT_SERVER_HELLO: {ServerHello: C._on_server_hello},
    S.WAIT_CERTIFICATE: {Certificate: C._on_certificate},
    S.WAIT_CERTIFICATE_STATUS: {CertificateStatus: C._on_certificate_status},
    S.WAIT_SERVER_KEY_EXCHANGE: {
        ServerKeyExchange: C._on_server_key_exchange,
        OpaqueHandshake: C._on_rsa_server_key_exchange,
    },
    S.WAIT_CERTIFICATE_REQUEST: {CertificateRequest: C._on_certificate_request},
    S.WAIT_SERVER_HELLO_DONE: {ServerHelloDone: C._on_server_hello_done},
    S.WAIT_NEW_SESSION_TICKET: {NewSessionTicket: C._on_new_session_ticket},
    S.WAIT_CHANGE_CIPHER_SPEC: {ChangeCipherSpec: C._on_change_cipher_spec},
    S.WAIT_FINISHED: {Finished: C._on_finished},
    S.ESTABLISHED: {HelloRequest: C._on_hello_request},
}
