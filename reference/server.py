"""The server role: answer one ClientHello with a full or abbreviated handshake, then wait.

Full handshake (RFC 5246 §7.3): our flight ServerHello, Certificate, [CertificateStatus when
the client asked and a response is configured, RFC 6066 §8], [ServerKeyExchange for
(EC)DHE], [CertificateRequest], ServerHelloDone; then from the client [Certificate iff we
requested one, possibly empty], ClientKeyExchange, [CertificateVerify iff its Certificate was
non-empty, §7.4.8], ChangeCipherSpec, Finished; then [NewSessionTicket], CCS, Finished.
Abbreviated (§7.3, RFC 5077 §3.1): ServerHello, [NewSessionTicket when the ticket needs
renewing], CCS, Finished; then the client's CCS and Finished. Established, a ClientHello
starts a secure renegotiation (RFC 5746) or is declined with a warning no_renegotiation.
"""

from __future__ import annotations

import os
from enum import Enum, auto

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from tlsmodel.reference import events as ev
from tlsmodel.reference.alerts import AlertDescription, AlertLevel, TLSAlert
from tlsmodel.reference.certs import CertificateRejected, ocsp_serial, verify_client
from tlsmodel.reference.codec import (
    TLS1_2,
    Certificate,
    CertificateRequest,
    CertificateStatus,
    CertificateVerify,
    ChangeCipherSpec,
    ClientCertificateType,
    ClientDHPublic,
    ClientECDHPublic,
    ClientHello,
    EncryptedPreMasterSecret,
    Finished,
    HelloRequest,
    NewSessionTicket,
    ServerHello,
    ServerHelloDone,
)
from tlsmodel.reference.config import Credential, ServerConfig
from tlsmodel.reference.connection import Connection, ConnectionStateError, unexpected
from tlsmodel.reference.engine import Role
from tlsmodel.reference.extensions import (
    ECPointFormats,
    EncryptThenMac,
    ExtendedMasterSecret,
    Extension,
    RenegotiationInfo,
    SessionTicket,
    SignatureAlgorithms,
    StatusRequest,
    SupportedGroups,
    find_extension,
)
from tlsmodel.reference.faults import Fault
from tlsmodel.reference.keyexchange import (
    DHE_GROUPS,
    ECDHE_GROUPS,
    KeyExchange,
    key_exchange_for,
)
from tlsmodel.reference.session import Session
from tlsmodel.reference.signatures import choose_scheme
from tlsmodel.reference.suites import (
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
    CipherSuite,
    KeyExchangeKind,
    suite_by_code,
)


class State(Enum):
    WAIT_CLIENT_HELLO = auto()
    WAIT_CERTIFICATE = auto()
    WAIT_CLIENT_KEY_EXCHANGE = auto()
    WAIT_CERTIFICATE_VERIFY = auto()  # optional only under a fault
    WAIT_CHANGE_CIPHER_SPEC = auto()  # optional only under a fault
    WAIT_FINISHED = auto()
    ESTABLISHED = auto()


class ServerConnection(Connection):
    """A TLS 1.2 server for one accepted transport."""

    role = "server"
    peer = "client"
    _engine_role = Role.SERVER

    def __init__(self, config: ServerConfig) -> None:
        if not config.credentials:
            raise ValueError("a server needs at least one credential")
        super().__init__(config.faults)
        self._config = config
        self._secure = False
        self._session: Session | None = None
        self._cached_id = b""

    def _initial_state(self) -> Enum:
        return State.WAIT_CLIENT_HELLO

    # --- public ----------------------------------------------------------------------------

    def renegotiate(self) -> None:
        """Ask the client to renegotiate (HelloRequest, §7.4.1.1); it may decline."""
        if self._dead or self._state is not State.ESTABLISHED:
            raise ConnectionStateError("renegotiation needs an established, idle connection")
        if not self._secure:
            raise ConnectionStateError("client does not support secure renegotiation")
        self._renegotiation_asked = True
        self._send(HelloRequest())

    # --- hooks -----------------------------------------------------------------------------

    def _optional(self, state: Enum) -> bool:
        if state is State.WAIT_CERTIFICATE_VERIFY:
            return Fault.SKIP_CERTIFICATE_VERIFY in self._faults
        if state is State.WAIT_CHANGE_CIPHER_SPEC:
            return Fault.FINISHED_WITHOUT_CCS in self._faults
        return False

    def _skip(self, state: Enum) -> Enum:
        if state is State.WAIT_CERTIFICATE_VERIFY:
            return State.WAIT_CHANGE_CIPHER_SPEC
        return State.WAIT_FINISHED

    def _reading_finished(self) -> bool:
        return self._state is State.WAIT_FINISHED

    def _on_renegotiation_declined(self) -> None:
        """The client declined our HelloRequest; we stay established (§7.4.1.1 leaves the
        choice to it)."""

    def _on_failure(self) -> None:
        # RFC 5246 §7.2: a session whose connection ends in a fatal alert is not resumable.
        if self._cached_id and self._config.session_cache is not None:
            self._config.session_cache.remove(self._cached_id)

    # --- ClientHello -----------------------------------------------------------------------

    def _on_client_hello(self, msg: ClientHello) -> State:
        cfg = self._config
        self._renegotiation_asked = False
        if msg.version < TLS1_2:
            raise TLSAlert(AlertDescription.protocol_version, f"client offers {msg.version:#06x}")
        if 0 not in msg.compression_methods:
            raise TLSAlert(AlertDescription.illegal_parameter, "no null compression offered")
        self._check_renegotiation_info(msg)
        self._client_version = msg.version
        self._ems = cfg.extended_master_secret and _has(msg, ExtendedMasterSecret)
        self._peer_chain: tuple[bytes, ...] = ()
        self._peer_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | None = None
        self._promise_ticket = False
        session, renew = self._find_session(msg)
        if session is not None:
            return self._resume(msg, session, renew)
        return self._full_handshake(msg)

    def _check_renegotiation_info(self, msg: ClientHello) -> None:
        """RFC 5746 §3.6 (initial) and §3.7 (renegotiation)."""
        info = find_extension(msg.extensions, RenegotiationInfo)
        scsv = TLS_EMPTY_RENEGOTIATION_INFO_SCSV in msg.cipher_suites
        if not self._established:
            if info is not None and info.renegotiated_connection:
                raise TLSAlert(AlertDescription.handshake_failure, "non-empty renegotiation_info")
            self._secure = scsv or info is not None
            return
        if scsv or info is None:
            raise TLSAlert(AlertDescription.handshake_failure, "renegotiation without the ext")
        if info.renegotiated_connection != self._engine.client_verify_data:
            raise TLSAlert(AlertDescription.handshake_failure, "bad renegotiation_info")

    def _find_session(self, msg: ClientHello) -> tuple[Session | None, bool]:
        """A resumable session named by the ClientHello's ticket or ID, if it still fits."""
        cfg, now = self._config, self._config.clock()
        ticket = find_extension(msg.extensions, SessionTicket)
        session, renew = None, False
        if ticket is not None and ticket.ticket and cfg.ticket_keys is not None:
            opened = cfg.ticket_keys.open(ticket.ticket, now)
            if opened is not None:
                session, renew = opened.session, opened.renew
        elif msg.session_id and cfg.session_cache is not None:
            session = cfg.session_cache.get(msg.session_id, now)
        if session is None:
            return None, False
        suite = suite_by_code(session.cipher_suite)
        usable = (
            suite is not None
            and suite in cfg.suites
            and suite.code in msg.cipher_suites
            # RFC 7627 §5.3: never resume across a change of the EMS state.
            and session.extended_master_secret == self._ems
        )
        return (session, renew) if usable else (None, False)

    def _resume(self, msg: ClientHello, session: Session, renew: bool) -> State:
        self._session = session
        self._suite = suite_by_code(session.cipher_suite)
        self._resumed = True
        self._peer_chain = session.peer_certificates
        by_ticket = session.ticket is not None
        self._promise_ticket = by_ticket and renew
        exts = self._common_extensions(msg, ticket=self._promise_ticket, status=False)
        self._cached_id = session.session_id  # empty for a ticket: nothing cached to forget
        self._send_server_hello(msg.session_id, exts, resumed=True)
        self._engine.set_master_secret(session.master_secret)
        if self._promise_ticket:
            self._send_ticket(session)
        self._send_finished()
        return State.WAIT_CHANGE_CIPHER_SPEC

    def _staple_fits(self, credential: Credential) -> bool:
        """Staple the configured OCSP response unless it names another of our certificates
        (a client rejects a foreign staple); one naming none is sent as is (client tests)."""
        response = self._config.ocsp_response
        if response is None:
            return False
        serial = ocsp_serial(response)
        ours = {c.chain[0].serial_number for c in self._config.credentials}
        return serial not in ours or serial == credential.chain[0].serial_number

    def _full_handshake(self, msg: ClientHello) -> State:
        cfg = self._config
        suite, credential, group, scheme = self._choose(msg)
        self._suite, self._credential, self._resumed = suite, credential, False
        self._session = None
        wants_ticket = find_extension(msg.extensions, SessionTicket) is not None
        self._promise_ticket = wants_ticket and cfg.ticket_keys is not None
        status = _has(msg, StatusRequest) and self._staple_fits(credential)
        exts = self._common_extensions(msg, ticket=self._promise_ticket, status=status)
        if suite.kx is not KeyExchangeKind.RSA and _has(msg, ECPointFormats):
            exts.append(ECPointFormats((0,)))
        if cfg.encrypt_then_mac and not suite.is_aead and _has(msg, EncryptThenMac):
            exts.append(EncryptThenMac())
        session_id = os.urandom(32) if cfg.session_cache is not None else b""
        self._cached_id = session_id
        self._send_server_hello(session_id, exts, resumed=False)
        self._send(Certificate(credential.chain_der))
        if status:
            assert cfg.ocsp_response is not None
            self._send(CertificateStatus(cfg.ocsp_response))
        kx: KeyExchange
        if suite.kx is KeyExchangeKind.RSA:
            assert isinstance(credential.key, rsa.RSAPrivateKey)
            kx = key_exchange_for(
                suite, private_key=credential.key, client_version=self._client_version
            )
        else:
            kx = key_exchange_for(suite, group=group)
            assert scheme is not None
            self._send(self._engine.server_key_exchange(kx, credential.key, scheme))
        self._kx = kx
        requested = cfg.client_anchors is not None
        if requested:
            assert cfg.client_anchors is not None
            self._send(
                CertificateRequest(
                    certificate_types=(
                        ClientCertificateType.rsa_sign,
                        ClientCertificateType.ecdsa_sign,
                    ),
                    signature_algorithms=cfg.signature_schemes,
                    authorities=tuple(c.subject.public_bytes() for c in cfg.client_anchors.roots),
                )
            )
        self._send(ServerHelloDone())
        return State.WAIT_CERTIFICATE if requested else State.WAIT_CLIENT_KEY_EXCHANGE

    def _choose(self, msg: ClientHello) -> tuple[CipherSuite, Credential, int | None, int | None]:
        """Server preference: the first of our suites the client offers that we can serve."""
        cfg = self._config
        groups_ext = find_extension(msg.extensions, SupportedGroups)
        client_groups = groups_ext.groups if groups_ext is not None else (23,)
        sigalgs = find_extension(msg.extensions, SignatureAlgorithms)
        peer_schemes = sigalgs.schemes if sigalgs is not None else None
        for suite in cfg.suites:
            if suite.code not in msg.cipher_suites:
                continue
            credential = next(
                (c for c in cfg.credentials if c.family == suite.kx.signature_key), None
            )
            if credential is None:
                continue
            group = self._group_for(suite, client_groups)
            if suite.kx.ephemeral and group is None:
                continue
            scheme = None
            if suite.kx.ephemeral:
                try:
                    scheme = choose_scheme(credential.key, peer_schemes)
                except TLSAlert:
                    continue
            return suite, credential, group, scheme
        raise TLSAlert(AlertDescription.handshake_failure, "no cipher suite in common")

    def _group_for(self, suite: CipherSuite, client_groups: tuple[int, ...]) -> int | None:
        ours = self._config.groups
        if suite.kx is KeyExchangeKind.DHE_RSA:
            # RFC 7919 §4: a client that names no FFDHE group leaves the choice to us.
            listed = [g for g in client_groups if g in DHE_GROUPS]
            pool = listed if listed else list(DHE_GROUPS)
            return next((g for g in ours if g in DHE_GROUPS and g in pool), None)
        if suite.kx.ephemeral:
            return next((g for g in ours if g in ECDHE_GROUPS and g in client_groups), None)
        return None

    def _common_extensions(
        self, msg: ClientHello, *, ticket: bool, status: bool
    ) -> list[Extension]:
        exts: list[Extension] = []
        if self._secure:
            verify = self._engine.client_verify_data + self._engine.server_verify_data
            exts.append(RenegotiationInfo(verify if self._established else b""))
        if self._ems:
            exts.append(ExtendedMasterSecret())
        if ticket:
            exts.append(SessionTicket())
        if status:
            exts.append(StatusRequest(empty=True))
        return exts

    def _send_server_hello(self, session_id: bytes, exts: list[Extension], resumed: bool) -> None:
        assert self._suite is not None
        hello = ServerHello(
            version=TLS1_2,
            random=os.urandom(32),
            session_id=session_id,
            cipher_suite=self._suite.code,
            compression_method=0,
            extensions=tuple(exts),
        )
        self._send(hello, resumed=resumed)

    # --- the client's flight ---------------------------------------------------------------

    def _on_certificate(self, msg: Certificate) -> State:
        cfg = self._config
        if not msg.certificate_list:
            if cfg.require_client_certificate:
                # §7.4.6: the server may answer a missing certificate with handshake_failure.
                raise TLSAlert(AlertDescription.handshake_failure, "client certificate required")
            return State.WAIT_CLIENT_KEY_EXCHANGE
        assert cfg.client_anchors is not None
        try:
            chain = verify_client(msg.certificate_list, cfg.client_anchors)
        except CertificateRejected as exc:
            raise TLSAlert(AlertDescription[exc.description], str(exc)) from None
        key = chain[0].public_key()
        if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            raise TLSAlert(AlertDescription.unsupported_certificate, "unsupported client key")
        self._peer_chain, self._peer_key = msg.certificate_list, key
        return State.WAIT_CLIENT_KEY_EXCHANGE

    def _on_client_key_exchange(
        self, msg: EncryptedPreMasterSecret | ClientDHPublic | ClientECDHPublic
    ) -> State:
        self._engine.set_premaster_secret(self._kx.process_client_key_exchange(msg))
        if self._peer_chain:
            return State.WAIT_CERTIFICATE_VERIFY
        return State.WAIT_CHANGE_CIPHER_SPEC

    def _on_early_change_cipher_spec(self, msg: ChangeCipherSpec) -> State:
        """CCS before ClientKeyExchange: unexpected, unless EARLY_CCS (CVE-2014-0224) is on."""
        if Fault.EARLY_CCS not in self._faults:
            raise unexpected("ChangeCipherSpec", self._state)
        self._engine.set_premaster_secret(b"")  # OpenSSL's bug: keys from an empty secret
        self._engine.activate_read_keys()
        return State.WAIT_FINISHED

    def _on_certificate_verify(self, msg: CertificateVerify) -> State:
        assert self._peer_key is not None
        self._engine.verify_certificate_verify(msg, self._peer_key, self._config.signature_schemes)
        return State.WAIT_CHANGE_CIPHER_SPEC

    def _on_change_cipher_spec(self, msg: ChangeCipherSpec) -> State:
        self._engine.activate_read_keys()
        return State.WAIT_FINISHED

    def _on_finished(self, msg: Finished) -> State:
        if not self._engine.verify_finished(msg):
            raise TLSAlert(AlertDescription.decrypt_error, "client Finished does not verify")
        if not self._resumed:
            session = self._new_session()
            if self._promise_ticket:
                self._send_ticket(session)
            self._send_finished()
            if self._cached_id and self._config.session_cache is not None:
                self._config.session_cache.put(session)
            self._session = session
        self._complete()
        return State.ESTABLISHED

    def _new_session(self) -> Session:
        assert self._suite is not None and self._engine.master_secret is not None
        return Session(
            session_id=self._cached_id,
            cipher_suite=self._suite.code,
            master_secret=self._engine.master_secret,
            extended_master_secret=self._engine.extended_master_secret,
            peer_certificates=self._peer_chain,
            created=self._config.clock(),
        )

    def _send_ticket(self, session: Session) -> None:
        keys = self._config.ticket_keys
        assert keys is not None
        fresh = Session(
            session_id=b"",
            cipher_suite=session.cipher_suite,
            master_secret=session.master_secret,
            extended_master_secret=session.extended_master_secret,
            peer_certificates=session.peer_certificates,
            created=self._config.clock(),
        )
        self._send(NewSessionTicket(lifetime_hint=keys.lifetime, ticket=keys.seal(fresh)))

    def _complete(self) -> None:
        assert self._suite is not None and self._session is not None
        self._handshake_done(
            ev.HandshakeComplete(
                cipher_suite=self._suite.iana,
                resumed=self._resumed,
                renegotiation=self._established,
                session=self._session,
                peer_certificates=self._peer_chain,
                extended_master_secret=self._engine.extended_master_secret,
                secure_renegotiation=self._secure,
            )
        )

    def _on_renegotiation_hello(self, msg: ClientHello) -> State:
        if self._config.renegotiation and self._secure:
            return self._on_client_hello(msg)
        self._renegotiation_asked = False
        self._send_alert(AlertDescription.no_renegotiation, AlertLevel.warning)
        return State.ESTABLISHED


def _has(msg: ClientHello, cls: type) -> bool:
    return find_extension(msg.extensions, cls) is not None


S = State
V = ServerConnection
_CKE = {
    EncryptedPreMasterSecret: V._on_client_key_exchange,
    ClientDHPublic: V._on_client_key_exchange,
    ClientECDHPublic: V._on_client_key_exchange,
}
ServerConnection._TABLE = {
    S.WAIT_CLIENT_HELLO: {ClientHello: V._on_client_hello},
    S.WAIT_CERTIFICATE: {Certificate: V._on_certificate},
    S.WAIT_CLIENT_KEY_EXCHANGE: {**_CKE, ChangeCipherSpec: V._on_early_change_cipher_spec},
    S.WAIT_CERTIFICATE_VERIFY: {CertificateVerify: V._on_certificate_verify},
    S.WAIT_CHANGE_CIPHER_SPEC: {ChangeCipherSpec: V._on_change_cipher_spec},
    S.WAIT_FINISHED: {Finished: V._on_finished},
    S.ESTABLISHED: {ClientHello: V._on_renegotiation_hello},
}
