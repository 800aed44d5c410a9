"""Benchmark (not a test): the reference TLS 1.2 implementation next to Python's ``ssl``.

Measures, in one run and on the same machine state, for TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
with a 2048-bit RSA certificate, chain and host name verified by the client:

- full handshakes/s, reference client <-> reference server, in memory (sans-IO pump), next to
  ``ssl`` client <-> ``ssl`` server in memory (``SSLObject`` over ``MemoryBIO``);
- full handshakes/s over loopback TCP against one ``openssl s_server -tls1_2``, reference client
  next to an ``ssl`` client;
- bulk MB/s, 16 KiB application records one way, in memory, reference vs ``ssl``.

Run: ``.venv/bin/python bench/bench_reference.py [--seconds 2]``. Prints a table; asserts
nothing. Everything it starts is stopped before it exits.
"""

from __future__ import annotations

import argparse
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support import peers
from support.pki import TestPKI, make_pki
from support.refpeers import anchors, credential, pump
from tlsmodel.reference import events as ev
from tlsmodel.reference.client import ClientConnection
from tlsmodel.reference.config import ClientConfig, ServerConfig
from tlsmodel.reference.server import ServerConnection
from tlsmodel.reference.sockets import TLSSocket
from tlsmodel.reference.suites import parse_suite_list

SUITE = "ECDHE-RSA-AES128-GCM-SHA256"
RECORD = 16384


def rate(fn: Callable[[], int], seconds: float) -> float:
    """Calls of ``fn`` (each returning a unit count) per second over about ``seconds``."""
    fn()  # warm up
    units, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        units += fn()
    return units / elapsed


# --- reference ------------------------------------------------------------------------------


def reference_configs(pki: TestPKI) -> tuple[ClientConfig, ServerConfig]:
    suites = parse_suite_list(SUITE)
    client = ClientConfig(server_name="localhost", anchors=anchors(pki), suites=suites)
    server = ServerConfig(credentials=(credential(pki.server_rsa),), suites=suites)
    return client, server


def reference_pair(
    ccfg: ClientConfig, scfg: ServerConfig
) -> tuple[ClientConnection, ServerConnection]:
    client, server = ClientConnection(ccfg), ServerConnection(scfg)
    pump(client, server)
    assert isinstance(client.next_event(), ev.HandshakeComplete)
    assert isinstance(server.next_event(), ev.HandshakeComplete)
    return client, server


def reference_bulk(pki: TestPKI) -> Callable[[], int]:
    client, server = reference_pair(*reference_configs(pki))
    chunk = b"\xab" * RECORD

    def step() -> int:
        for _ in range(64):
            client.send_application_data(chunk)
        server.receive_data(client.data_to_send())
        got = 0
        while (event := server.next_event()) is not None:
            got += len(event.data)  # type: ignore[union-attr]
        return got

    return step


def reference_tcp_handshake(pki: TestPKI, port: int) -> Callable[[], int]:
    ccfg, _ = reference_configs(pki)

    def step() -> int:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        tls = TLSSocket(sock, ClientConnection(ccfg), 10)
        tls.handshake()
        tls.close()
        return 1

    return step


# --- Python ssl -----------------------------------------------------------------------------


def ssl_contexts(pki: TestPKI) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(pki.ca)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(pki.server_rsa.cert, pki.server_rsa.key)
    for ctx in (client, server):
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(SUITE)
    return client, server


def ssl_pair(cctx: ssl.SSLContext, sctx: ssl.SSLContext):
    cin, cout, sin, sout = (ssl.MemoryBIO() for _ in range(4))
    c = cctx.wrap_bio(cin, cout, server_hostname="localhost")
    s = sctx.wrap_bio(sin, sout, server_side=True)
    done = {"c": False, "s": False}
    while not (done["c"] and done["s"]):
        for key, obj in (("c", c), ("s", s)):
            if not done[key]:
                try:
                    obj.do_handshake()
                    done[key] = True
                except ssl.SSLWantReadError:
                    pass
        sin.write(cout.read())
        cin.write(sout.read())
    return c, cout, s, sin


def ssl_bulk(cctx: ssl.SSLContext, sctx: ssl.SSLContext) -> Callable[[], int]:
    c, cout, s, sin = ssl_pair(cctx, sctx)
    chunk = b"\xab" * RECORD

    def step() -> int:
        for _ in range(64):
            c.write(chunk)
        sin.write(cout.read())
        got = 0
        try:
            while True:
                got += len(s.read(RECORD))
        except ssl.SSLWantReadError:
            pass
        return got

    return step


def ssl_tcp_handshake(cctx: ssl.SSLContext, port: int) -> Callable[[], int]:
    def step() -> int:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            cctx.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.unwrap()
        return 1

    return step


# --- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tlsmodel-bench-") as tmp:
        pki = make_pki(Path(tmp) / "pki")
        cctx, sctx = ssl_contexts(pki)
        rows: list[tuple[str, float, float, str]] = []

        configs = reference_configs(pki)  # once, as the ssl contexts are made once

        def memory_reference() -> int:
            reference_pair(*configs)
            return 1

        def memory_ssl() -> int:
            ssl_pair(cctx, sctx)
            return 1

        rows.append(
            ("full handshakes/s, in memory", rate(memory_reference, args.seconds),
             rate(memory_ssl, args.seconds), "ref<->ref vs ssl<->ssl")
        )  # fmt: skip
        with peers.openssl_server(pki, Path(tmp), naccept=None, cipher=SUITE) as srv:
            rows.append(
                ("full handshakes/s, vs openssl s_server",
                 rate(reference_tcp_handshake(pki, srv.port), args.seconds),
                 rate(ssl_tcp_handshake(cctx, srv.port), args.seconds),
                 "client over loopback TCP")
            )  # fmt: skip
        mb = 1024 * 1024
        rows.append(
            ("bulk MB/s, 16 KiB records, in memory",
             rate(reference_bulk(pki), args.seconds) / mb,
             rate(ssl_bulk(cctx, sctx), args.seconds) / mb, "one way, encrypt+decrypt")
        )  # fmt: skip
    print(f"{SUITE}, RSA-2048 server certificate, verified chain and name")
    print(f"{'measurement':40} {'reference':>11} {'ssl':>11} {'ratio':>7}  note")
    for name, ours, theirs, note in rows:
        print(f"{name:40} {ours:11.1f} {theirs:11.1f} {ours / theirs:7.2f}  {note}")
    version = subprocess.run(["openssl", "version"], capture_output=True, text=True, timeout=10)
    print(f"(peer: {version.stdout.strip()}; Python ssl: {ssl.OPENSSL_VERSION})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
