"""A throw-away test PKI: one CA, RSA and ECDSA server certificates, client certificates.

Why generated, not committed: certificates expire and committed private keys invite misuse;
generating them with ``cryptography`` takes a fraction of a second (RSA-2048 dominates), so a
session-scoped fixture makes them once per test run in a temporary directory. Every file is PEM,
which is what ``openssl s_server``/``s_client``, ``gnutls-serv``/``gnutls-cli`` and our own
reference implementation all read.

The server certificates name ``localhost`` and ``127.0.0.1`` (SAN DNS and IP), so verifying
clients can check the name whichever they were given. ``ocsp_rsa`` is a DER OCSP response
("good", signed by the CA) for the RSA server certificate, for stapling (``s_server
-status_file``, ``gnutls-serv --ocsp-response``). The fixed-DH-free setup is deliberate:
OpenSSL 3 and GnuTLS 3.7 no longer offer static (EC)DH suites, so a fixed-DH client certificate
could not be exercised against a real peer anyway.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# Pre-generated finite-field group (RFC 7919 ffdhe2048) for DHE servers: generating DH
# parameters at test time takes seconds to minutes; the RFC group is what real servers use.
FFDHE2048_PEM = """-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
"""


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A certificate and its private key, as PEM files on disk."""

    cert: Path
    key: Path


@dataclass(frozen=True, slots=True)
class TestPKI:
    """Paths of everything one test run needs; ``ca`` is the trust anchor for both sides."""

    __test__ = False  # not a pytest test class despite the name

    directory: Path
    ca: Path
    server_rsa: KeyPair
    server_ecdsa: KeyPair
    client_rsa: KeyPair
    client_ecdsa: KeyPair
    dhparams: Path
    ocsp_rsa: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tlsmodel tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_key(key: PrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _write_cert(cert: x509.Certificate, path: Path) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _builder(subject: str, issuer: x509.Name, public_key: object) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
    )


def _leaf(
    subject: str,
    key: PrivateKey,
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    server: bool,
) -> x509.Certificate:
    # RSA keys may encipher (RSA key transport); EC keys only sign (ECDHE_ECDSA).
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    builder = (
        _builder(subject, ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=is_rsa and server,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(ca_key, hashes.SHA256())


def _ocsp_good(cert: x509.Certificate, ca_cert: x509.Certificate, ca_key: PrivateKey) -> bytes:
    now = datetime.datetime.now(datetime.UTC)
    response = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=cert,
            issuer=ca_cert,
            algorithm=hashes.SHA1(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=now - datetime.timedelta(minutes=5),
            next_update=now + datetime.timedelta(days=1),
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, ca_cert)
        .sign(ca_key, hashes.SHA256())
    )
    return response.public_bytes(serialization.Encoding.DER)


def make_pki(directory: Path) -> TestPKI:
    """Generate a CA and four leaf key pairs under ``directory`` (created if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        _builder("tlsmodel test CA", _name("tlsmodel test CA"), ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.pem"
    _write_cert(ca_cert, ca_path)

    pairs: dict[str, KeyPair] = {}
    ocsp_rsa = directory / "server_rsa.ocsp.der"
    for label, server, key in (
        ("server_rsa", True, rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("server_ecdsa", True, ec.generate_private_key(ec.SECP256R1())),
        ("client_rsa", False, rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("client_ecdsa", False, ec.generate_private_key(ec.SECP256R1())),
    ):
        subject = "localhost" if server else f"tlsmodel {label.replace('_', ' ')}"
        cert = _leaf(subject, key, ca_cert, ca_key, server)
        pair = KeyPair(cert=directory / f"{label}.pem", key=directory / f"{label}.key")
        _write_cert(cert, pair.cert)
        _write_key(key, pair.key)
        pairs[label] = pair
        if label == "server_rsa":
            ocsp_rsa.write_bytes(_ocsp_good(cert, ca_cert, ca_key))

    dhparams = directory / "ffdhe2048.pem"
    dhparams.write_text(FFDHE2048_PEM)
    return TestPKI(directory=directory, ca=ca_path, dhparams=dhparams, ocsp_rsa=ocsp_rsa, **pairs)
