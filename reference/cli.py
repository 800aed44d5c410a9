"""``tlsmodel server`` and ``tlsmodel client``: the reference endpoints on real sockets.

Why two subcommands in one module: they share every option that configures TLS (suites,
faults, trace output) and the loaders that turn PEM files into credentials; the loops that
serve and connect live in ``endpoints.py``. ``register`` imports nothing heavy, as the CLI
convention requires; ``cryptography`` is loaded when a command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from tlsmodel.errors import UsageError

SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suites", metavar="LIST", help="comma-separated IANA or OpenSSL names")
    parser.add_argument(
        "--fault", action="append", default=[], metavar="NAME", help="switch a fault on"
    )
    parser.add_argument("--list-faults", action="store_true", help="list the faults and exit")
    parser.add_argument(
        "--trace-out", metavar="FILE.jsonl", help="write each connection as a trace line"
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for the peer (default 10)"
    )
    parser.add_argument("--quiet", action="store_true", help="do not print the messages")
    parser.add_argument(
        "--keylog",
        metavar="FILE",
        default=os.environ.get("SSLKEYLOGFILE"),
        help="append NSS key log lines (default: $SSLKEYLOGFILE), e.g. for tshark",
    )


def register(subparsers: Any) -> None:
    """Add the ``server`` and ``client`` subcommands."""
    server = subparsers.add_parser(
        "server",
        help="run the reference TLS 1.2 server",
        description="Serve TLS 1.2 on loopback with the reference implementation: answer each "
        "request (HTTP/1.0 200 if it looks like HTTP, else an echo), until stopped.",
    )
    server.add_argument("--cert", action="append", default=[], metavar="CHAIN.pem")
    server.add_argument("--key", action="append", default=[], metavar="KEY.pem")
    server.add_argument("--client-ca", metavar="CA.pem", help="request client certificates")
    server.add_argument("--require-client-cert", action="store_true")
    server.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    server.add_argument("--port", type=int, default=4433)
    server.add_argument("--no-tickets", action="store_true", help="do not issue tickets")
    server.add_argument("--ocsp-response", metavar="FILE", help="DER OCSP response to staple")
    server.add_argument(
        "--renegotiate", action="store_true", help="send HelloRequest after the first request"
    )
    server.add_argument(
        "--max-connections", type=int, default=0, metavar="N", help="exit after N (0: never)"
    )
    _common(server)
    server.set_defaults(func=run_server)

    client = subparsers.add_parser(
        "client",
        help="connect with the reference TLS 1.2 client",
        description="Connect, verify the server, send data and print the reply; exit 0 only "
        "after a complete handshake, a verified peer and the data exchanged.",
    )
    client.add_argument("target", nargs="?", metavar="HOST:PORT")
    client.add_argument("--ca", metavar="CA.pem", help="trust anchors (default: system bundle)")
    client.add_argument("--cert", metavar="CHAIN.pem")
    client.add_argument("--key", metavar="KEY.pem")
    client.add_argument("--servername", metavar="NAME", help="SNI and name to verify")
    client.add_argument(
        "--resume",
        nargs="?",
        const="any",
        choices=("id", "ticket", "any"),
        help="connect twice, resuming the second time (by session id or ticket)",
    )
    client.add_argument("--send", metavar="TEXT", default="GET / HTTP/1.0\r\n\r\n")
    client.add_argument(
        "--renegotiate", action="store_true", help="renegotiate once before sending"
    )
    _common(client)
    client.set_defaults(func=run_client)


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None


def load_certificates(path: str, what: str) -> tuple[Any, ...]:
    """All PEM certificates in ``path``; none or unparsable is a UsageError."""
    from cryptography import x509

    try:
        certs = x509.load_pem_x509_certificates(_read(path, what))
    except ValueError:
        raise UsageError(f"{what} {path} holds no PEM certificate") from None
    return tuple(certs)


def load_credential(cert_path: str, key_path: str) -> Any:
    """A chain and its key from PEM files; the key must match the leaf."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from tlsmodel.reference.config import Credential

    chain = load_certificates(cert_path, "certificate")
    try:
        key = load_pem_private_key(_read(key_path, "key"), password=None)
    except (ValueError, TypeError):
        raise UsageError(f"key {key_path} is not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise UsageError(f"key {key_path}: only RSA and ECDSA keys are supported")
    if key.public_key().public_numbers() != chain[0].public_key().public_numbers():
        raise UsageError(f"key {key_path} does not match certificate {cert_path}")
    return Credential(chain, key)


def _ocsp_response(path: str, credentials: tuple[Any, ...]) -> bytes:
    """The DER OCSP response to staple; it must be a successful one for one of the --cert
    leaves, or every client asking for it would fail with bad_certificate_status_response."""
    from tlsmodel.reference.certs import ocsp_serial

    response = _read(path, "OCSP response")
    serial = ocsp_serial(response)
    if serial is None:
        raise UsageError(f"OCSP response {path} is not a successful DER OCSP response")
    if all(c.chain[0].serial_number != serial for c in credentials):
        raise UsageError(f"OCSP response {path} is for none of the --cert certificates")
    return response


def tls_options(args: argparse.Namespace, role: str) -> dict[str, Any]:
    """Suites and faults from the command line, as config keyword arguments."""
    from tlsmodel.reference.faults import parse_faults
    from tlsmodel.reference.suites import parse_suite_list

    options: dict[str, Any] = {}
    if args.suites is not None:
        try:
            options["suites"] = parse_suite_list(args.suites)
        except KeyError as exc:
            raise UsageError(str(exc.args[0])) from None
    try:
        options["faults"] = parse_faults(args.fault, role)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    for fault in sorted(options["faults"], key=lambda f: f.value):
        # A faulty endpoint must never pass for a conforming one in someone's terminal or log.
        print(f"tlsmodel: fault {fault.value} is ON (deliberately non-conforming)", file=sys.stderr)
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    return options


def _list_faults(role: str) -> int:
    from tlsmodel.reference.faults import describe_faults

    for line in describe_faults(role):
        print(line)
    return 0


def run_server(args: argparse.Namespace) -> int:
    """Build the server config from the flags and serve."""
    if args.list_faults:
        return _list_faults("server")
    from tlsmodel.reference.certs import TrustAnchors
    from tlsmodel.reference.config import ServerConfig
    from tlsmodel.reference.endpoints import serve

    if not args.cert or len(args.cert) != len(args.key):
        raise UsageError("server needs --cert CHAIN.pem --key KEY.pem (as many keys as certs)")
    if args.require_client_cert and not args.client_ca:
        raise UsageError("--require-client-cert needs --client-ca CA.pem")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"bad port {args.port}")
    if args.max_connections < 0:
        raise UsageError("--max-connections must be 0 (serve until stopped) or more")
    credentials = tuple(load_credential(c, k) for c, k in zip(args.cert, args.key, strict=True))
    options = tls_options(args, "server")
    if args.client_ca:
        options["client_anchors"] = TrustAnchors(load_certificates(args.client_ca, "client CA"))
    if args.ocsp_response:
        options["ocsp_response"] = _ocsp_response(args.ocsp_response, credentials)
    if args.no_tickets:
        options["ticket_keys"] = None
    config = ServerConfig(
        credentials=credentials, require_client_certificate=args.require_client_cert, **options
    )
    return serve(config, args)


def _target(text: str | None) -> tuple[str, int]:
    if not text:
        raise UsageError("client needs HOST:PORT")
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    if not port.isdigit() or not 0 < int(port) <= 65535:
        raise UsageError(f"bad HOST:PORT {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def run_client(args: argparse.Namespace) -> int:
    """Build the client config from the flags and connect (twice with ``--resume``)."""
    if args.list_faults:
        return _list_faults("client")
    from tlsmodel.reference.certs import TrustAnchors
    from tlsmodel.reference.config import ClientConfig
    from tlsmodel.reference.endpoints import connect

    host, port = _target(args.target)
    if bool(args.cert) != bool(args.key):
        raise UsageError("--cert and --key go together")
    options = tls_options(args, "client")
    if args.ca:
        roots = load_certificates(args.ca, "CA")
    elif SYSTEM_CA_BUNDLE.exists():
        roots = load_certificates(str(SYSTEM_CA_BUNDLE), "system CA bundle")
    else:
        raise UsageError("no --ca given and no system CA bundle found")
    if args.cert:
        options["credential"] = load_credential(args.cert, args.key)
    if args.resume == "id":
        options["session_tickets"] = False
    config = ClientConfig(
        server_name=args.servername or host, anchors=TrustAnchors(roots), **options
    )
    return connect(config, host, port, args)
