"""Oracle input readers without peers: format detection, errors, the openssl -msg reader on
hand-made logs, and the inferences every reader shares (resumption, undecryptable records,
unsupported versions). Real captures are in test_oracle_inputs_peers/_crafted."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest
from tlsmodel.model.trace import Trace, TraceError
from tlsmodel.oracle import pcap
from tlsmodel.oracle.inputs import detect_format, load, load_traces
from tlsmodel.oracle.records import ConnectionBuilder, InputError

from tlsmodel.errors import UsageError

PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tshark")


# --- hand-made openssl -msg logs ---------------------------------------------------------


def hexdump(data: bytes) -> str:
    rows = [data[i : i + 16] for i in range(0, len(data), 16)]
    return "".join("    " + " ".join(f"{b:02x}" for b in row) + "\n" for row in rows)


def record(direction: str, content: int, length: int = 0x40) -> str:
    header = bytes([content, 3, 3]) + length.to_bytes(2, "big")
    return f"{direction} TLS 1.2, RecordHeader [length 0005]\n" + hexdump(header)


def handshake(direction: str, name: str, code: int, body: bytes) -> str:
    data = bytes([code]) + len(body).to_bytes(3, "big") + body
    line = f"{direction} TLS 1.2, Handshake [length {len(data):04x}], {name}\n"
    return record(direction, 22) + line + hexdump(data)


def ext(code: int, data: bytes = b"") -> bytes:
    return code.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data


def client_hello(session_id: bytes = b"", extensions: bytes = b"", version: int = 0x0303) -> str:
    body = version.to_bytes(2, "big") + bytes(32) + bytes([len(session_id)]) + session_id
    body += b"\x00\x02\xc0\x2f\x01\x00" + len(extensions).to_bytes(2, "big") + extensions
    return handshake(">>>", "ClientHello", 1, body)


def server_hello(session_id: bytes = b"", extensions: bytes = b"", version: int = 0x0303) -> str:
    body = version.to_bytes(2, "big") + bytes(32) + bytes([len(session_id)]) + session_id
    body += b"\xc0\x2f\x00" + len(extensions).to_bytes(2, "big") + extensions
    return handshake("<<<", "ServerHello", 2, body)


def alert(direction: str, level: int, description: int) -> str:
    line = f"{direction} TLS 1.2, Alert [length 0002], x y\n"
    return record(direction, 21) + line + hexdump(bytes([level, description]))


CERT = handshake("<<<", "Certificate", 11, b"\x00\x00\x06\x00\x00\x03abc")
EMPTY_CERT = handshake(">>>", "Certificate", 11, b"\x00\x00\x00")
SHD = handshake("<<<", "ServerHelloDone", 14, b"")
SKE = handshake("<<<", "ServerKeyExchange", 12, b"\x03\x00\x17\x01\x04")
CR = handshake("<<<", "CertificateRequest", 13, b"\x01\x01\x00\x00\x00\x00")
CKE = handshake(">>>", "ClientKeyExchange", 16, b"\x01\x04")
FIN_C = record(">>>", 20) + handshake(">>>", "Finished", 20, bytes(12))
FIN_S = record("<<<", 20) + handshake("<<<", "Finished", 20, bytes(12))
NST = handshake("<<<", "NewSessionTicket", 4, b"\x00\x00\x1c\x20\x00\x02ab")
TICKET_EXTS = ext(0xFF01, b"\x00") + ext(35) + ext(23)


def read_log(tmp_path: Path, text: str, name: str = "client.log") -> list[Trace | InputError]:
    path = tmp_path / name
    path.write_text(text)
    assert detect_format(path) == "openssl-msg"
    return list(load_traces(path))


def seq(trace: Trace) -> list[str]:
    return [f"{m['from'][0].upper()}:{m['type']}" for m in trace.messages]


def test_log_full_handshake_with_ticket_and_client_auth(tmp_path: Path) -> None:
    text = "CONNECTED(00000003)\n" + client_hello(extensions=ext(35))
    text += server_hello(extensions=TICKET_EXTS) + CERT + SKE + CR + SHD
    text += EMPTY_CERT + CKE + FIN_C + NST + FIN_S
    text += record("<<<", 23) + record(">>>", 23) + alert(">>>", 1, 0) + "DONE\n"
    (trace,) = read_log(tmp_path, text)
    assert seq(trace) == [
        "C:ClientHello",
        *("S:ServerHello", "S:Certificate", "S:ServerKeyExchange"),
        *("S:CertificateRequest", "S:ServerHelloDone", "C:Certificate"),
        *("C:ClientKeyExchange", "C:ChangeCipherSpec", "C:Finished"),
        *("S:NewSessionTicket", "S:ChangeCipherSpec", "S:Finished"),
        *("S:ApplicationData", "C:ApplicationData", "C:Alert"),
    ]
    hello = trace.messages[1]
    assert hello == {
        "from": "server",
        "type": "ServerHello",
        "cipher_suite": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "extensions": ["renegotiation_info", "session_ticket", "extended_master_secret"],
        "resumed": False,
    }
    assert trace.messages[2]["empty"] is False and trace.messages[6]["empty"] is True
    assert trace.messages[-1] == {
        "from": "client",
        "type": "Alert",
        "level": "warning",
        "description": "close_notify",
    }
    assert trace.id == "client.log:4" and trace.extra["locations"][0] == "line 4"
    assert trace.extra["unsupported"] is None and trace.extra["undecrypted"] == 0


@pytest.mark.parametrize(
    ("client_sid", "server_sid", "after", "resumed"),
    [
        (b"\x01" * 32, b"\x01" * 32, FIN_S, True),  # session-ID echo (RFC 5246 §7.4.1.3)
        (b"", b"\x02" * 32, NST + FIN_S, True),  # ticket accepted: NewSessionTicket next
        (b"\x01" * 32, b"\x02" * 32, FIN_S, True),  # ticket accepted: CCS next (RFC 5077 §3.4)
        (b"\x01" * 32, b"\x02" * 32, CERT, False),  # a new session: full handshake
        (b"\x01" * 32, b"\x02" * 32, "", None),  # nothing after: unknown, left absent
        (b"\x01" * 32, b"\x01" * 32, "", True),  # the echo alone decides
    ],
)
def test_log_resumption(
    tmp_path: Path, client_sid: bytes, server_sid: bytes, after: str, resumed: bool | None
) -> None:
    text = client_hello(client_sid) + server_hello(server_sid) + after
    (trace,) = read_log(tmp_path, text)
    assert trace.messages[1].get("resumed") is resumed


def test_log_as_server_and_connection_split(tmp_path: Path) -> None:
    """An s_server log: ``<<<`` is the client. ACCEPT and CONNECTION CLOSED split connections."""
    flip = str.maketrans({">": "<", "<": ">"})
    one = (client_hello() + server_hello() + CERT + SHD + CKE).translate(flip)
    text = f"ACCEPT\n{one}CONNECTION CLOSED\n{one}CONNECTION CLOSED\n"
    traces = read_log(tmp_path, text, "server.log")
    assert len(traces) == 2 and traces[0].id != traces[1].id
    for trace in traces:
        assert seq(trace) == [
            "C:ClientHello",
            "S:ServerHello",
            "S:Certificate",
            "S:ServerHelloDone",
            "C:ClientKeyExchange",
        ]


def test_log_unsupported_versions(tmp_path: Path) -> None:
    tls13 = client_hello(extensions=ext(43, b"\x04\x03\x04\x03\x03"))
    tls13 += server_hello(extensions=ext(43, b"\x03\x04"))
    tls10 = client_hello(version=0x0301) + server_hello(version=0x0301)
    offer11 = client_hello(version=0x0302)
    offer13 = client_hello(extensions=ext(43, b"\x02\x03\x04"))
    text = "\n".join(f"CONNECTED(1)\n{t}" for t in (tls13, tls10, offer11, offer13))
    found = [t.extra["unsupported"] for t in read_log(tmp_path, text)]
    assert found == [
        "TLS 1.3",
        "TLS 1.0",
        "ClientHello offers TLS 1.1 only",
        "ClientHello offers TLS 1.3 only",
    ]


def test_log_cut_short_message_is_an_error_and_skipped(tmp_path: Path) -> None:
    hello = server_hello()
    cut = hello[: hello.rindex("\n    ")] + "\n"  # drop the last hex row of the ServerHello
    items = read_log(tmp_path, client_hello() + cut + CERT + alert("<<<", 2, 0xFE))
    error, trace = items
    assert isinstance(error, InputError) and error.where is not None
    assert error.where.startswith("line ") and "ServerHello" in error.reason
    assert str(error).startswith(f"{tmp_path / 'client.log'}:line ")
    assert seq(trace) == ["C:ClientHello", "S:Certificate", "S:Alert"]
    assert trace.messages[-1] == {"from": "server", "type": "Alert", "level": "fatal"}
    assert any("254 is not in the IANA registry" in n for n in trace.extra["notes"])


# --- shared inferences ----------------------------------------------------------------------


def test_undecryptable_records_after_each_ccs() -> None:
    """The first encrypted handshake record after a sender's CCS is its Finished
    (RFC 5246 §7.4.9); later ones are unknown; a new CCS starts over (renegotiation)."""
    b = ConnectionBuilder("x")
    b.hello("c", "ClientHello", "frame 1", "", (0x0303,))
    b.hello("s", "ServerHello", "frame 2", "", (0x0303,), cipher_suite="0xc02f")
    for sender in ("c", "s"):
        b.add(sender, "ChangeCipherSpec", "frame 3")
        b.encrypted_handshake(sender, "frame 3")
    b.encrypted_handshake("c", "frame 4")  # renegotiating ClientHello
    b.alert("s", "frame 5", None, None)
    b.add("c", "ChangeCipherSpec", "frame 6")
    b.encrypted_handshake("c", "frame 6")
    trace = b.finish("t", b.client_key())
    assert seq(trace) == [
        "C:ClientHello",
        "S:ServerHello",
        "C:ChangeCipherSpec",
        "C:Finished",
        "S:ChangeCipherSpec",
        "S:Finished",
        "C:unknown-encrypted",
        "S:Alert",
        "C:ChangeCipherSpec",
        "C:Finished",
    ]
    assert trace.messages[1]["resumed"] is True  # the server's CCS came right after
    assert trace.messages[7] == {"from": "server", "type": "Alert"}
    assert trace.extra["undecrypted"] == 5
    assert len(trace.extra["notes"]) == 3


def test_roles_from_server_hello_and_none() -> None:
    b = ConnectionBuilder("x")
    b.add("a", "ApplicationData", "frame 1")
    b.hello("b", "ServerHello", "frame 2", "", (0x0303,))
    assert b.client_key() == "a"
    lost = ConnectionBuilder("x")
    lost.add("a", "ApplicationData", "frame 1")
    assert lost.client_key() is None
    trace = lost.finish("t", None)
    assert trace.extra["unsupported"].startswith("capture starts inside the connection")


def test_info_column_rewritten_by_another_protocol_falls_back_to_records() -> None:
    values = [""] * len(pcap.FIELDS)
    values[pcap.FIELDS.index("_ws.col.Info")] = "GET / HTTP/1.1 "
    values[pcap.FIELDS.index("tls.record.content_type")] = "22,20,22,23"
    values[pcap.FIELDS.index("tls.handshake.type")] = "16"
    info, content = pcap.FIELDS.index("_ws.col.Info"), pcap.FIELDS.index("tls.record.content_type")
    kinds, exact = pcap._events(values[info], values[content], 1, 0)
    assert not exact
    assert kinds == (pcap._HANDSHAKE, pcap._CCS, pcap._ENCRYPTED_HANDSHAKE, pcap._APP_DATA)
    values[pcap.FIELDS.index("_ws.col.Info")] = (
        "Client Key Exchange, Change Cipher Spec, Encrypted Handshake Message, Application Data"
    )
    assert pcap._events(values[info], values[content], 1, 0) == (kinds, True)


# --- detection and errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (PCAP_HEADER, "pcap"),
        (b"\x0a\x0d\x0d\x0a" + bytes(24), "pcap"),
        (b"\x1f\x8b\x08\x00", "pcap"),
        (b'\n  {"id": "a", "messages": []}\n', "jsonl"),
        (
            b"CONNECTED(00000003)\n>>> TLS 1.2, Handshake [length 00c9], ClientHello\n",
            "openssl-msg",
        ),
    ],
)
def test_detect_format(tmp_path: Path, head: bytes, fmt: str) -> None:
    path = tmp_path / "input.bin"
    path.write_bytes(head)
    assert detect_format(path) == fmt


def test_unrecognised_and_missing_inputs(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(UsageError, match="not a pcap/pcapng capture"):
        detect_format(garbage)
    with pytest.raises(UsageError, match="no such file"):
        load_traces(tmp_path / "missing.pcap")
    with pytest.raises(UsageError, match="unknown input format"):
        load_traces(garbage, fmt="xml")


def test_tshark_missing_and_keylog_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    capture = tmp_path / "c.pcap"
    capture.write_bytes(PCAP_HEADER)
    if shutil.which("tshark"):
        with pytest.raises(UsageError, match="no such key log file"):
            load_traces(capture, keylog=tmp_path / "nokeys.txt")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UsageError, match=r"^tshark is needed .*: apt-get install tshark$"):
        load_traces(capture)  # raised at the call, before any iteration


@needs_tshark
def test_garbage_forced_as_pcap_and_empty_capture(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pcap"
    garbage.write_bytes(b"not a capture at all\n" * 50)
    (error,) = list(load_traces(garbage, fmt="pcap"))
    assert isinstance(error, InputError) and error.where is None
    assert "isn't a capture file" in error.reason
    ((source, as_trace_error),) = list(load(garbage, "pcap"))
    assert source == str(garbage) and isinstance(as_trace_error, TraceError)
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(PCAP_HEADER)
    assert list(load_traces(empty)) == []


def test_jsonl_through_the_same_entry_point(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": "a", "messages": [{"from": "client", "type": "ClientHello"}]}\n[1]\n')
    trace, error = list(load_traces(path))
    assert isinstance(trace, Trace) and trace.id == "a"
    assert isinstance(error, InputError) and error.where == "2"


def test_heartbeats_and_unframed_records_are_skipped_with_a_note() -> None:
    values = [""] * len(pcap.FIELDS)
    values[pcap.FIELDS.index("_ws.col.Info")] = "Heartbeat Request, Change Cipher Spec"
    values[pcap.FIELDS.index("tls.record.content_type")] = "24,20"
    builder = ConnectionBuilder("x")
    builder.hello("c", "ClientHello", "frame 1", "", (0x0303,))
    pcap._frame_messages(builder, "c", values, "frame 2")
    values[pcap.FIELDS.index("_ws.col.Info")] = "Continuation Data"
    values[pcap.FIELDS.index("tls.record.content_type")] = ""
    pcap._frame_messages(builder, "c", values, "frame 3")
    trace = builder.finish("t", "c")
    assert seq(trace) == ["C:ClientHello", "C:ChangeCipherSpec"]
    assert trace.extra["notes"] == [
        "frame 2: a heartbeat or unreadable record was skipped",
        "frame 3: a heartbeat or unreadable record was skipped",
    ]
