"""Build a pcap of many TLS 1.2 handshakes cheaply, for the capture-reader benchmark.

Why replicate instead of capturing 10,000 live handshakes: a live run costs minutes of CPU and
its timing noise would end up in the file. We capture a handful of real, different OpenSSL
handshakes once on loopback (full with ticket, resumption by ticket and by session ID, client
authentication, RSA and DHE key exchange, renegotiation), take their TCP payloads with tshark,
and write them back out, cycling through them, each copy as its own TCP connection from its own
127.x.y.z client address (addresses only inside the file). The key log of the originals still
decrypts every copy, since tshark finds secrets by the ClientHello random.

    python bench/make_pcap.py [--count 10000] [--out DIR]

prints the paths of the capture and key log it wrote.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support import pcapgen, peers, pki

# (server options, client option sets): each client run is one connection.
_SOURCES = [
    ({}, [{}]),
    ({"naccept": 2}, [{"sess_out": "s1"}, {"sess_in": "s1"}]),
    ({"naccept": 2, "no_ticket": True}, [{"sess_out": "s2"}, {"sess_in": "s2"}]),
    ({"client_auth": "require"}, [{"cert": "client_rsa"}]),
    ({"cipher": "AES128-GCM-SHA256", "no_ticket": True}, [{}]),
    ({"cipher": "DHE-RSA-AES128-GCM-SHA256", "dhparams": True}, [{}]),
    ({"extra": ["-client_renegotiation"]}, [{"steps": (peers.HANDSHAKE_DONE, b"R\n", 1.0)}]),
]


def capture_sources(work: Path) -> tuple[Path, Path]:
    """Run the source handshakes under one loopback capture; return (capture, key log)."""
    test_pki = pki.make_pki(work / "pki")
    ports = peers.free_ports(len(_SOURCES))
    keylogs = []
    pcap = work / "sources.pcapng"
    with peers.capture(ports, pcap):
        for port, (server, clients) in zip(ports, _SOURCES, strict=True):
            keylogs.append(work / f"{port}.keys")
            server = {"naccept": 1, **server}
            with peers.openssl_server(
                test_pki, work, port=port, keylog=keylogs[-1], **server
            ) as srv:
                for options in clients:
                    options = dict(options)
                    for key in ("sess_out", "sess_in"):
                        if key in options:
                            options[key] = work / options[key]
                    if "cert" in options:
                        options["cert"] = getattr(test_pki, options["cert"])
                    peers.openssl_client(port, work, ca=test_pki.ca, **options)
                srv.wait(5)
    keylog = work / "sources.keys"
    keylog.write_text("".join(k.read_text() for k in keylogs if k.exists()))
    return pcap, keylog


def replicate(flows: list[pcapgen.Flow], count: int, out: Path) -> None:
    """Write ``count`` connections, cycling through ``flows``, to ``out``."""
    with out.open("wb") as handle:
        writer = pcapgen.PcapWriter(handle)
        for index in range(count):
            flow = flows[index % len(flows)]
            writer.conversation(pcapgen.replica_address(index), ("127.0.0.1", 443), flow.chunks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="connections (default 10000)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "tlsmodel-bench")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    source_pcap, keylog = capture_sources(args.out / "sources")
    flows = pcapgen.extract_flows(source_pcap)
    capture = args.out / f"handshakes-{args.count}.pcap"
    replicate(flows, args.count, capture)
    print(f"{len(flows)} source connections -> {args.count} connections")
    print(f"capture: {capture} ({capture.stat().st_size / 1e6:.1f} MB)")
    print(f"keylog:  {keylog}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
