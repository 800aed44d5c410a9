"""Peer certificate chains: parse the DER list from a Certificate message and verify it.

Why separate: chain and name checking is policy of the *connection* (the engine only carries
bytes), and it is delegated to cryptography's ``x509.verification`` rather than written again.
Failures come out as ``CertificateRejected`` carrying the RFC 5246 §7.2.2 alert name, so the
connection can answer with the right fatal alert without knowing cryptography's messages.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.x509 import ocsp, verification


class CertificateRejected(Exception):
    """A peer chain we refuse; ``description`` is the alert to send (IANA name)."""

    def __init__(self, description: str, reason: str) -> None:
        super().__init__(reason)
        self.description = description


@dataclass(frozen=True, slots=True)
class TrustAnchors:
    """The CA certificates a verifier trusts, and the time to check validity at (None: now)."""

    roots: tuple[x509.Certificate, ...]
    at: datetime | None = None

    def _builder(self, client: bool = False) -> verification.PolicyBuilder:
        builder = verification.PolicyBuilder().store(verification.Store(list(self.roots)))
        if client:
            # Client certificates name a person or a service, not a host: the Web PKI rule
            # that an end-entity carries subjectAltName is dropped, the rest (EKU clientAuth,
            # key usage, validity, chain) stays.
            ee = verification.ExtensionPolicy.webpki_defaults_ee().may_be_present(
                x509.SubjectAlternativeName, verification.Criticality.AGNOSTIC, None
            )
            builder = builder.extension_policies(
                ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee
            )
        return builder.time(self.at) if self.at is not None else builder


def parse_chain(chain_der: tuple[bytes, ...] | list[bytes]) -> list[x509.Certificate]:
    """DER certificates to objects; undecodable certificates are ``bad_certificate``."""
    try:
        return [x509.load_der_x509_certificate(der) for der in chain_der]
    except ValueError as exc:
        raise CertificateRejected("bad_certificate", f"undecodable certificate: {exc}") from None


def _subject(name: str) -> verification.DNSName | verification.IPAddress:
    try:
        return verification.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return verification.DNSName(name)


def _description(error: Exception) -> str:
    """Map cryptography's verification error text onto an alert name."""
    text = str(error).lower()
    if "expired" in text or "not valid at" in text:
        return "certificate_expired"
    if "subject" in text or ("name" in text and "mismatch" in text):
        return "bad_certificate"
    if "candidates exhausted" in text or "issuer" in text or "trust" in text:
        return "unknown_ca"
    return "bad_certificate"


def verify_server(
    chain_der: tuple[bytes, ...] | list[bytes], anchors: TrustAnchors, server_name: str
) -> list[x509.Certificate]:
    """Verify the server's chain and that it is valid for ``server_name`` (RFC 6125 rules)."""
    chain = parse_chain(chain_der)
    if not chain:
        raise CertificateRejected("bad_certificate", "server sent no certificate")
    verifier = anchors._builder().build_server_verifier(_subject(server_name))
    try:
        verifier.verify(chain[0], chain[1:])
    except verification.VerificationError as exc:
        raise CertificateRejected(_description(exc), f"server chain rejected: {exc}") from None
    return chain


def verify_client(
    chain_der: tuple[bytes, ...] | list[bytes], anchors: TrustAnchors
) -> list[x509.Certificate]:
    """Verify a (non-empty) client chain against the configured client CA."""
    chain = parse_chain(chain_der)
    verifier = anchors._builder(client=True).build_client_verifier()
    try:
        verifier.verify(chain[0], chain[1:])
    except verification.VerificationError as exc:
        raise CertificateRejected(_description(exc), f"client chain rejected: {exc}") from None
    return chain


def check_ocsp(response_der: bytes, leaf: x509.Certificate) -> None:
    """Check a stapled OCSP response (RFC 6066 §8) names ``leaf`` and does not revoke it.

    Why only this much: the staple is optional evidence on top of a chain that already
    verified; an unparsable or foreign response is ``bad_certificate_status_response``, a
    revoked status is ``certificate_revoked``. The responder's signature is not checked.
    """
    try:
        response = ocsp.load_der_ocsp_response(response_der)
    except ValueError as exc:
        raise CertificateRejected(
            "bad_certificate_status_response", f"undecodable OCSP response: {exc}"
        ) from None
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise CertificateRejected(
            "bad_certificate_status_response", f"OCSP status {response.response_status.name}"
        )
    try:
        serial, status = response.serial_number, response.certificate_status
    except ValueError as exc:  # e.g. several SingleResponses
        raise CertificateRejected("bad_certificate_status_response", str(exc)) from None
    if serial != leaf.serial_number:
        raise CertificateRejected(
            "bad_certificate_status_response", "OCSP response is for another certificate"
        )
    if status is ocsp.OCSPCertStatus.REVOKED:
        raise CertificateRejected("certificate_revoked", "OCSP says the certificate is revoked")


@functools.lru_cache(maxsize=8)
def ocsp_serial(response_der: bytes) -> int | None:
    """The serial number a successful, single-response OCSP response is about, else None.

    Why: a server with several certificates (RSA and ECDSA) and one configured response must
    staple it only with the certificate it names, and the CLI refuses a file that is no such
    response. Cached because the server asks on every full handshake.
    """
    try:
        response = ocsp.load_der_ocsp_response(response_der)
        if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
            return None
        return int(response.serial_number)
    except ValueError:
        return None
