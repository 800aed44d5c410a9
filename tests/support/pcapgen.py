"""Write pcap files from TCP byte streams: re-segmented, re-framed or replicated real traffic.

Why: some shapes that the capture reader must handle are not produced on demand by OpenSSL or
GnuTLS — a whole flight in one TLS record, one byte per TCP segment, TLS on a port another
dissector owns — and a benchmark needs ten thousand connections without running ten thousand
handshakes. So we take the *bytes* of real connections (tshark extracts them: we never parse a
capture ourselves) and write them back out as new TCP conversations with a small pcap writer.

Only writing is done here: classic pcap, LINKTYPE_RAW (bare IPv4), a SYN/SYN-ACK/ACK opening,
data segments with correct sequence and acknowledgement numbers, and a FIN exchange. Checksums
are computed for IP; tshark does not verify TCP checksums by default, so they are left zero.
"""

from __future__ import annotations

import ipaddress
import itertools
import struct
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

LINKTYPE_RAW = 101
_SYN, _ACK, _PSH, _FIN = 0x02, 0x10, 0x08, 0x01


@dataclass
class Flow:
    """One TCP connection as the application bytes each side sent, in order."""

    chunks: list[tuple[bool, bytes]] = field(default_factory=list)  # (from_client, data)


def extract_flows(pcap: Path, keep: Iterable[int] | None = None) -> list[Flow]:
    """The TCP payloads of every connection in ``pcap``, per segment, as tshark reassembles
    nothing at this level (``-T fields -e tcp.payload``). The client is the SYN's sender."""
    argv = ["tshark", "-r", str(pcap), "-n", "--disable-protocol", "ALL", "--enable-protocol"]
    argv += ["frame,eth,sll,null,loop,raw,ip,ipv6,tcp", "-T", "fields"]
    for name in ("tcp.stream", "tcp.srcport", "tcp.flags.syn", "tcp.flags.ack", "tcp.payload"):
        argv += ["-e", name]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True).stdout
    flows: dict[str, Flow] = {}
    clients: dict[str, str] = {}
    for line in out.splitlines():
        stream, port, syn, ack, payload = line.split("\t")
        if syn == "1" and ack == "0":
            clients[stream] = port
        if payload and stream in clients:
            flows.setdefault(stream, Flow()).chunks.append(
                (port == clients[stream], bytes.fromhex(payload.replace(":", "")))
            )
    wanted = None if keep is None else {str(k) for k in keep}
    return [f for s, f in flows.items() if wanted is None or s in wanted]


def tls_records(data: bytes) -> Iterator[bytes]:
    """Split one direction's bytes into whole TLS records (5-byte header + fragment)."""
    pos = 0
    while pos + 5 <= len(data):
        end = pos + 5 + int.from_bytes(data[pos + 3 : pos + 5], "big")
        yield data[pos:end]
        pos = end
    if pos != len(data):
        raise ValueError("bytes end inside a TLS record")


def merge_records(records: list[bytes]) -> bytes:
    """One record holding the fragments of several records of one content type (RFC 5246
    §6.2.1 allows several handshake messages in one record)."""
    body = b"".join(r[5:] for r in records)
    return records[0][:3] + len(body).to_bytes(2, "big") + body


def split_record(record: bytes, *cuts: int) -> list[bytes]:
    """The record's fragment cut at ``cuts`` (offsets into it), each piece its own record:
    a handshake message then spans records (RFC 5246 §6.2.1 allows it)."""
    body, header = record[5:], record[:3]
    edges = [0, *cuts, len(body)]
    pieces = [body[a:b] for a, b in itertools.pairwise(edges)]
    return [header + len(p).to_bytes(2, "big") + p for p in pieces]


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class PcapWriter:
    """Append TCP conversations to a classic pcap file (one timestamp tick per packet)."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.tick = 0
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW))

    def _packet(
        self,
        src: str,
        dst: str,
        sport: int,
        dport: int,
        seq: int,
        ack: int,
        flags: int,
        data: bytes = b"",
    ) -> None:
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
        total = 20 + len(tcp) + len(data)
        ip = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0,
            ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed,
        )  # fmt: skip
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        self.tick += 1
        seconds, micros = divmod(self.tick * 10, 1_000_000)
        self.out.write(struct.pack("<IIII", 1_700_000_000 + seconds, micros, total, total))
        self.out.write(ip + tcp + data)

    def conversation(
        self,
        client: tuple[str, int],
        server: tuple[str, int],
        chunks: Iterable[tuple[bool, bytes]],
        *,
        segment: int | None = None,
    ) -> None:
        """Open, carry ``chunks`` (each its own segment, or split into ``segment``-byte ones),
        and close one connection."""
        (cip, cport), (sip, sport) = client, server
        # Fresh initial sequence numbers per connection, so a reused 4-tuple is a new stream.
        cseq, sseq = (1000 + self.tick * 7919) % 2**31, (5000 + self.tick * 104729) % 2**31
        self._packet(cip, sip, cport, sport, cseq, 0, _SYN)
        self._packet(sip, cip, sport, cport, sseq, cseq + 1, _SYN | _ACK)
        cseq, sseq = cseq + 1, sseq + 1
        self._packet(cip, sip, cport, sport, cseq, sseq, _ACK)
        for from_client, data in chunks:
            step = segment or len(data) or 1
            for start in range(0, len(data), step):
                piece = data[start : start + step]
                if from_client:
                    self._packet(cip, sip, cport, sport, cseq, sseq, _ACK | _PSH, piece)
                    cseq += len(piece)
                else:
                    self._packet(sip, cip, sport, cport, sseq, cseq, _ACK | _PSH, piece)
                    sseq += len(piece)
        self._packet(cip, sip, cport, sport, cseq, sseq, _FIN | _ACK)
        self._packet(sip, cip, sport, cport, sseq, cseq + 1, _FIN | _ACK)
        self._packet(cip, sip, cport, sport, cseq + 1, sseq + 1, _ACK)


def replica_address(index: int) -> tuple[str, int]:
    """A distinct client address for the ``index``-th copy (127.0.0.0/8, only in the file)."""
    return (
        f"127.{1 + index // 60000 % 250}.{index // 250 % 240}.{1 + index % 250}",
        1024 + index % 60000,
    )
