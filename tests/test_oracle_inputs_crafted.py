"""Capture shapes real peers rarely produce, made from the bytes of one real OpenSSL handshake.

One ECDHE-RSA handshake with a session ticket and client authentication is captured on loopback
(with its key log); its TCP payloads are written back out re-segmented (one byte per segment),
re-framed (a whole flight in one record, a Certificate spread over three records), on a port
another dissector owns, next to plain-text traffic, and reordered. The reader must report the
same messages for every shape — or, for the reordered one, exactly the wire order it was given.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from support import pcapgen, peers, pki
from tlsmodel.oracle.inputs import load_traces

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tshark"),
]

EXPECTED = [
    "C:ClientHello",
    *("S:ServerHello", "S:Certificate", "S:ServerKeyExchange"),
    *("S:CertificateRequest", "S:ServerHelloDone"),
    *("C:Certificate", "C:ClientKeyExchange", "C:CertificateVerify"),
    *("C:ChangeCipherSpec", "C:Finished"),
    *("S:NewSessionTicket", "S:ChangeCipherSpec", "S:Finished"),
    *("C:Alert", "S:Alert"),
]
CLIENT, SERVER = ("127.0.0.9", 50000), ("127.0.0.1", 443)


def seq(trace: Any) -> list[str]:
    return [f"{m['from'][0].upper()}:{m['type']}" for m in trace.messages]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[tuple[bool, bytes]], Path]:
    """The (direction, bytes) chunks of one real handshake, and its key log."""
    work = tmp_path_factory.mktemp("crafted")
    test_pki = pki.make_pki(work / "pki")
    port = peers.free_port()
    keylog = work / "server.keys"
    with (
        peers.capture(port, work / "real.pcapng"),
        peers.openssl_server(
            test_pki, work, port=port, client_auth="require", keylog=keylog
        ) as server,
    ):
        client = peers.openssl_client(port, work, ca=test_pki.ca, cert=test_pki.client_rsa)
        server.wait(5)
    assert client.proc.returncode == 0, client.describe()
    (flow,) = pcapgen.extract_flows(work / "real.pcapng")
    return flow.chunks, keylog


def _records(chunks: list[tuple[bool, bytes]]) -> list[tuple[bool, bytes]]:
    """One chunk per TLS record, in order."""
    return [(c, r) for c, data in chunks for r in pcapgen.tls_records(data)]


def _write(
    path: Path, conversations: list[tuple[Any, Any, list[tuple[bool, bytes]], int | None]]
) -> Path:
    with path.open("wb") as handle:
        writer = pcapgen.PcapWriter(handle)
        for client, server, chunks, segment in conversations:
            writer.conversation(client, server, chunks, segment=segment)
    return path


def _read(path: Path, keylog: Path | None, **options: Any) -> list[Any]:
    traces = list(load_traces(path, keylog=keylog, **options))
    assert all(hasattr(t, "messages") for t in traces), traces
    return traces


@pytest.mark.parametrize("keys", [True, False], ids=["keylog", "nokeys"])
def test_shapes_all_read_the_same(source: Any, keys: bool, tmp_path: Path) -> None:
    chunks, keylog = source
    records = _records(chunks)
    # The server's first flight (ServerHello..ServerHelloDone, 5 records) as ONE record.
    first_flight = [r for c, r in records if not c][:5]
    assert {r[0] for r in first_flight} == {22}
    one_record = [(c, r) for c, r in records if r not in first_flight]
    one_record.insert(1, (False, pcapgen.merge_records(first_flight)))
    # The server's Certificate message cut over three records.
    certificate = first_flight[1]
    spread = [(c, r) for c, r in records if r is not certificate]
    index = records.index((False, certificate))
    for piece in reversed(pcapgen.split_record(certificate, 3, 300)):
        spread.insert(index, (False, piece))
    shapes = [
        (CLIENT, SERVER, chunks, None),  # as captured
        ((CLIENT[0], 50001), SERVER, chunks, 1),  # one byte per TCP segment
        ((CLIENT[0], 50002), SERVER, records, None),  # one record per segment
        ((CLIENT[0], 50003), SERVER, one_record, None),
        ((CLIENT[0], 50004), SERVER, spread, None),
    ]
    traces = _read(_write(tmp_path / "shapes.pcap", shapes), keylog if keys else None)
    assert [t.id for t in traces] == [f"127.0.0.9:{p}-127.0.0.1:443" for p in range(50000, 50005)]
    for trace in traces:
        assert seq(trace) == EXPECTED, trace.id
        assert trace.extra["undecrypted"] == (0 if keys else 4)
        hello = trace.messages[1]
        assert hello["cipher_suite"] == "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
        assert "session_ticket" in hello["extensions"] and hello["resumed"] is False


def test_tls_port_and_plain_traffic(source: Any, tmp_path: Path) -> None:
    """Port 80 belongs to HTTP's dissector: TLS there is found only with ``tls_ports``; plain
    HTTP beside it is never a trace."""
    chunks, _ = source
    plain = [(True, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), (False, b"HTTP/1.1 200 OK\r\n\r\n")]
    path = _write(
        tmp_path / "ports.pcap",
        [
            (CLIENT, ("127.0.0.1", 80), chunks, None),
            ((CLIENT[0], 50001), ("127.0.0.1", 8080), plain, None),
        ],
    )
    assert _read(path, None) == []
    (trace,) = _read(path, None, tls_ports=(80,))
    assert trace.id == "127.0.0.9:50000-127.0.0.1:80" and seq(trace) == EXPECTED


def test_repeated_four_tuple_gets_numbered_ids(source: Any, tmp_path: Path) -> None:
    chunks, keylog = source
    path = _write(tmp_path / "twice.pcap", [(CLIENT, SERVER, chunks, None)] * 2)
    ids = [t.id for t in _read(path, keylog)]
    assert ids == ["127.0.0.9:50000-127.0.0.1:443", "127.0.0.9:50000-127.0.0.1:443#2"]


def test_wire_order_is_reported_even_when_illegal(source: Any, tmp_path: Path) -> None:
    """ChangeCipherSpec moved before ClientKeyExchange (the CVE-2014-0224 shape): the reader
    does not repair the order; judging it is the model's business. After a CCS tshark takes
    the sender's records as encrypted, so the plaintext ClientKeyExchange behind it is read
    as the Finished-after-CCS and the CertificateVerify as unknown-encrypted (with keys the real
    Finished still decrypts): the first wrong message — the CCS right after the client's
    Certificate — stays exactly where it was on the wire."""
    chunks, keylog = source
    records = _records(chunks)
    ccs = next(i for i, (c, r) in enumerate(records) if c and r[0] == 20)
    cke = next(i for i, (c, r) in enumerate(records) if c and r[0] == 22 and r[5] == 16)
    records.insert(cke, records.pop(ccs))
    path = _write(tmp_path / "early_ccs.pcap", [(CLIENT, SERVER, records, None)])
    for keys in (None, keylog):
        (trace,) = _read(path, keys)
        got = seq(trace)
        at = got.index("C:Certificate")
        last = "C:Finished" if keys else "C:unknown-encrypted"
        assert got[at : at + 5] == [
            "C:Certificate",
            "C:ChangeCipherSpec",
            "C:Finished",
            "C:unknown-encrypted",
            last,
        ]


def test_frame_with_more_records_than_a_summary_column_holds(source: Any, tmp_path: Path) -> None:
    """1000 one-byte ApplicationData records in one segment: tshark cuts its summary columns
    (about 680 record types fit), so that frame is read from its complete items and noted."""
    chunks, _ = source
    bulk = b"".join(b"\x17\x03\x03\x00\x01x" for _ in range(1000))
    path = _write(
        tmp_path / "bulk.pcap", [(CLIENT, SERVER, [*chunks[:-2], (True, bulk), *chunks[-2:]], None)]
    )
    (trace,) = _read(path, None)
    got = seq(trace)
    handshake = EXPECTED[:-2]
    assert got[: len(handshake)] == handshake and got[-2:] == ["C:Alert", "S:Alert"]
    middle = got[len(handshake) : -2]
    assert set(middle) == {"C:ApplicationData"} and 600 < len(middle) <= 1000
    assert any("more records than tshark's summary lists" in n for n in trace.extra["notes"])
