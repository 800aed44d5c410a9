"""Scripted peers for the reference Connection: an ``Engine`` that a test drives message by
message, with correct cryptography for the path it takes, to send what TLS 1.2 forbids.

Why: a fault or an ordering rule is only tested when the connection actually receives the
deviant sequence. ``ScriptedServer`` / ``ScriptedClient`` know just enough protocol to keep
the keys right (key exchange, CCS, Finished); the test decides the order, and what to skip.
"""

from __future__ import annotations

import os
from typing import Any

from tlsmodel.reference.codec import (
    TLS1_2,
    Certificate,
    ClientHello,
    Finished,
    HandshakeMessage,
    NamedGroup,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
)
from tlsmodel.reference.config import Credential
from tlsmodel.reference.connection import Connection
from tlsmodel.reference.engine import (
    ApplicationDataReceived,
    ChangeCipherSpecReceived,
    Engine,
    HandshakeReceived,
    Role,
)
from tlsmodel.reference.extensions import (
    ECPointFormats,
    ExtendedMasterSecret,
    Extension,
    RenegotiationInfo,
    SignatureAlgorithms,
    SupportedGroups,
)
from tlsmodel.reference.keyexchange import KeyExchange, key_exchange_for
from tlsmodel.reference.signatures import OFFERED_SCHEMES, choose_scheme
from tlsmodel.reference.suites import CipherSuite, KeyExchangeKind


class _Scripted:
    role: Role

    def __init__(self) -> None:
        self.engine = Engine(self.role)
        self.received: list[Any] = []
        self.kx: KeyExchange | None = None

    def send(self, *messages: HandshakeMessage) -> _Scripted:
        for message in messages:
            self.engine.send_handshake(message)
        return self

    def ccs(self, activate: bool = True) -> _Scripted:
        self.engine.send_change_cipher_spec(activate=activate)
        return self

    def finished(self) -> _Scripted:
        return self.send(self.engine.finished())

    def to(self, conn: Connection) -> None:
        """Deliver everything queued to the reference connection."""
        conn.receive_data(self.engine.data_to_send())

    def read(self, conn: Connection) -> list[Any]:
        """Take what the connection sent; activate keys on CCS, handle the key exchange."""
        self.engine.receive_data(conn.data_to_send())
        new = []
        while (event := self.engine.next_event()) is not None:
            new.append(event)
            if isinstance(event, ChangeCipherSpecReceived):
                self.engine.activate_read_keys()
            elif isinstance(event, HandshakeReceived):
                self._observe(event.message)
        self.received += new
        return new

    def _observe(self, message: HandshakeMessage) -> None:
        """Role-specific bookkeeping of received messages."""

    def messages(self) -> list[str]:
        """Names of the handshake messages received so far."""
        return [type(e.message).__name__ for e in self.received if isinstance(e, HandshakeReceived)]

    def data(self) -> list[bytes]:
        return [e.data for e in self.received if isinstance(e, ApplicationDataReceived)]


class ScriptedServer(_Scripted):
    """A server whose flight the test assembles; it computes the premaster it is sent."""

    role = Role.SERVER

    def __init__(self, credential: Credential, suite: CipherSuite) -> None:
        super().__init__()
        self.credential, self.suite = credential, suite
        self.static_ecdh = False  # answer ECDHE with the certificate key (CVE-2014-3572 peer)
        self.rsa_key: Any = credential.key

    def server_hello(
        self,
        *,
        extensions: tuple[Extension, ...] | None = None,
        version: int = TLS1_2,
        cipher_suite: int | None = None,
        session_id: bytes = b"",
    ) -> ScriptedServer:
        exts = (RenegotiationInfo(), ExtendedMasterSecret()) if extensions is None else extensions
        hello = ServerHello(
            version=version,
            random=os.urandom(32),
            session_id=session_id,
            cipher_suite=self.suite.code if cipher_suite is None else cipher_suite,
            extensions=exts,
        )
        self.send(hello)
        return self

    def certificate(self) -> ScriptedServer:
        self.send(Certificate(self.credential.chain_der))
        return self

    def server_key_exchange(self, group: int = NamedGroup.secp256r1) -> ServerKeyExchange:
        self.kx = key_exchange_for(self.suite, group=group)
        scheme = choose_scheme(self.credential.key, OFFERED_SCHEMES)
        return self.engine.server_key_exchange(self.kx, self.credential.key, scheme)

    def full_flight(self) -> ScriptedServer:
        """ServerHello, Certificate, [ServerKeyExchange], ServerHelloDone."""
        self.server_hello().certificate()
        if self.suite.kx is not KeyExchangeKind.RSA:
            self.send(self.server_key_exchange())
        return self.send(ServerHelloDone())  # type: ignore[return-value]

    def _observe(self, message: HandshakeMessage) -> None:
        if type(message).__name__ in {"ClientECDHPublic", "ClientDHPublic"}:
            if self.static_ecdh:
                from cryptography.hazmat.primitives.asymmetric import ec

                key = self.credential.key
                assert isinstance(key, ec.EllipticCurvePrivateKey)
                peer = ec.EllipticCurvePublicKey.from_encoded_point(key.curve, message.point)
                self.engine.set_premaster_secret(key.exchange(ec.ECDH(), peer))
            else:
                assert self.kx is not None
                self.engine.set_premaster_secret(self.kx.process_client_key_exchange(message))
        elif type(message).__name__ == "EncryptedPreMasterSecret":
            kx = key_exchange_for(self.suite, private_key=self.rsa_key)
            self.engine.set_premaster_secret(kx.process_client_key_exchange(message))


class ScriptedClient(_Scripted):
    """A client that sends a normal ClientHello and can then deviate."""

    role = Role.CLIENT

    def __init__(self, suite: CipherSuite) -> None:
        super().__init__()
        self.suite = suite
        self.server_key: Any = None

    def client_hello(self, **kw: Any) -> ScriptedClient:
        exts = (
            SupportedGroups((NamedGroup.secp256r1, NamedGroup.x25519, NamedGroup.ffdhe2048)),
            ECPointFormats(),
            SignatureAlgorithms(OFFERED_SCHEMES),
            ExtendedMasterSecret(),
            RenegotiationInfo(),
        )
        fields: dict[str, Any] = {
            "version": TLS1_2, "random": os.urandom(32), "session_id": b"",
            "cipher_suites": (self.suite.code,), "extensions": exts,
        }  # fmt: skip
        fields.update(kw)
        self.send(ClientHello(**fields))
        return self

    def _observe(self, message: HandshakeMessage) -> None:
        from cryptography import x509

        if isinstance(message, Certificate) and message.certificate_list:
            leaf = x509.load_der_x509_certificate(message.certificate_list[0])
            self.server_key = leaf.public_key()
        elif isinstance(message, ServerKeyExchange):
            self.kx = key_exchange_for(self.suite)
            self.kx.process_server_params(message.params)

    def key_exchange(self, *, set_secret: bool = True) -> ScriptedClient:
        """Send the ClientKeyExchange for the parameters received."""
        if self.suite.kx is KeyExchangeKind.RSA:
            self.kx = key_exchange_for(self.suite, server_public_key=self.server_key)
        assert self.kx is not None
        message, pre_master = self.kx.client_key_exchange()
        self.send(message)
        if set_secret:
            self.engine.set_premaster_secret(pre_master)
        return self

    def verify_server_finished(self) -> bool:
        finished = [e.message for e in self.received if isinstance(e, HandshakeReceived)]
        return (
            bool(finished)
            and isinstance(finished[-1], Finished)
            and (self.engine.verify_finished(finished[-1]))
        )
