"""Read pcap/pcapng captures into traces, with the real tshark doing all the dissection.

Why tshark and not our own parser: TCP reassembly, records split across segments or coalesced
in one, handshake messages split across records, decryption with a key log — tshark does all of
it and is what users trust. We call it **once per file**, one tab-separated line per TLS frame,
and read its lines as they come, so the whole load costs little more than tshark's own pass.

How a frame's line becomes messages: tshark prints each field's occurrences in a frame as a
list, but says nothing of which record or message an occurrence belongs to. The Info column
does: the TLS dissector appends one label per handshake message and per CCS/Alert/ApplicationData
record, in wire order ("Client Key Exchange, Change Cipher Spec, Encrypted Handshake Message").
We read the *order and kind* from the Info labels and the *names and attributes* from the typed
fields, consumed in order: the n-th handshake label is the n-th ``tls.handshake.type``, the n-th
readable alert label the n-th ``tls.alert_message.level``/``desc``. Every protocol above TLS is
disabled (``--disable-protocol ALL`` plus the link/IP/TCP/TLS layers), so decrypted application
data never replaces TLS's labels with, say, HTTP's — and tshark does less work.

The fields are printed as custom summary columns (``-T tabs``) rather than with ``-T fields``:
the summary path builds only the primed fields of an invisible tree, at about half the CPU. A
column is capped in length (4095 characters for Info, 2047 for the others: a frame of several
hundred tiny records); such a frame is read from its complete items and its trace gets a note.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tlsmodel.model.trace import Trace
from tlsmodel.oracle import iana
from tlsmodel.oracle.records import UNKNOWN_HANDSHAKE, ConnectionBuilder, InputError

from tlsmodel.errors import UsageError

# Link, network and transport layers tshark may need before TLS; everything else stays off.
_PROTOCOLS = "frame,pcap_pktdata,eth,ethertype,vlan,sll,null,loop,raw,ppp,ip,ipv6,tcp,tls"

FIELDS: tuple[str, ...] = (
    "frame.number",
    "tcp.stream",
    "ip.src",
    "ipv6.src",
    "tcp.srcport",
    "ip.dst",
    "ipv6.dst",
    "tcp.dstport",
    "_ws.col.Info",
    "tls.record.content_type",
    "tls.handshake.type",
    "tls.handshake.version",
    "tls.handshake.session_id_length",
    "tls.handshake.session_id",
    "tls.handshake.ciphersuite",
    "tls.handshake.extension.type",
    "tls.handshake.extensions.supported_version",
    "tls.handshake.certificates_length",
    "tls.alert_message.level",
    "tls.alert_message.desc",
    "tls",  # present ("\u2713") in a frame with TLS; the others are TCP FIN/RST frames
    "tcp.flags.fin",
    "tcp.flags.reset",
)
(
    _FRAME, _STREAM, _SRC4, _SRC6, _SPORT, _DST4, _DST6, _DPORT, _INFO, _CONTENT, _HS_TYPE,
    _HS_VERSION, _SID_LEN, _SID, _SUITE, _EXT, _SUPPORTED, _CERTS_LEN, _ALERT_LEVEL, _ALERT_DESC,
    _TLS, _FIN, _RST,
) = range(len(FIELDS))  # fmt: skip
# TLS frames, and the FIN/RST frames that tell a connection is over so its trace can be handed
# on while tshark is still reading (the checker then runs beside tshark, not after it).
_FILTER = "tls or tcp.flags.fin == 1 or tcp.flags.reset == 1"

# The fields as summary columns ("-T tabs"): every occurrence, unresolved ("0x0303", "22,20").
# Summary output lets tshark build only the primed fields of an invisible tree, which costs
# about half of what "-T fields" does (measured: 0.58 s vs 1.02 s CPU for 3,000 handshakes).
_COLUMNS = ",".join(
    '"No","%m"' if name == "frame.number" else
    '"Info","%i"' if name == "_ws.col.Info" else
    f'"{name}","%Cus:{name}:0:U"'
    for name in FIELDS
)  # fmt: skip
# tshark cuts a column at these lengths (COL_MAX_INFO_LEN, COL_MAX_LEN less the NUL), silently.
_INFO_LIMIT, _COLUMN_LIMIT = 4095, 2047

_LABEL_RE = re.compile(r"\s*(Alert \(Level: [^)]*\)|[^,]+)")

# What one Info label (or, in the fallback, one record) stands for.
_HANDSHAKE, _ENCRYPTED_HANDSHAKE, _CCS, _APP_DATA, _ALERT, _ENCRYPTED_ALERT, _IGNORED = range(7)
_RECORD_LABELS = {
    "Change Cipher Spec": _CCS,
    "Application Data": _APP_DATA,
    "Encrypted Handshake Message": _ENCRYPTED_HANDSHAKE,
    "Encrypted Alert": _ENCRYPTED_ALERT,
}
_IGNORED_PREFIXES = (
    "Heartbeat",
    "Encrypted Heartbeat",
    "Ignored Unknown Record",
    "Continuation Data",
)
_CONTENT_TYPES = {20: _CCS, 21: _ALERT, 23: _APP_DATA, 24: _IGNORED}


def tshark_argv(
    path: Path, *, keylog: Path | None = None, tls_ports: Sequence[int] = ()
) -> list[str]:
    """The one tshark command that dissects ``path`` for us (also what the benchmark times)."""
    argv = ["tshark", "-r", str(path), "-n", "-Y", _FILTER, "-T", "tabs"]
    argv += ["--disable-protocol", "ALL", "--enable-protocol", _PROTOCOLS]
    argv += ["--disable-protocol", "http,http2"]  # they rewrite Info even when ALL is off
    argv += ["-o", f"gui.column.format:{_COLUMNS}"]
    for pref in ("tcp.desegment_tcp_streams", "tls.desegment_ssl_records"):
        argv += ["-o", f"{pref}:TRUE"]
    # Application data is only counted, never read: reassembling it would only feed dissectors.
    argv += ["-o", "tls.desegment_ssl_application_data:FALSE"]
    if keylog is not None:
        argv += ["-o", f"tls.keylog_file:{keylog}"]
    for port in tls_ports:
        argv += ["-d", f"tcp.port=={port},tls"]
    return argv


def require_tshark(keylog: Path | None = None) -> None:
    """UsageError unless tshark is installed (and ``keylog``, if given, is a file)."""
    if shutil.which("tshark") is None:
        raise UsageError("tshark is needed to read captures: apt-get install tshark")
    if keylog is not None and not keylog.is_file():
        raise UsageError(f"{keylog}: no such key log file")


@dataclass(slots=True)
class _Connection:
    builder: ConnectionBuilder
    endpoints: tuple[str, str]  # (source, destination) of the first TLS frame
    first_frame: int
    fins: set[str] = field(default_factory=set)  # endpoints that sent FIN
    closed: bool = False  # both FINs, or a RST: nothing more can follow


def _endpoint(ip4: str, ip6: str, port: str) -> str:
    return f"{ip4}:{port}" if ip4 else f"[{ip6}]:{port}"


def _ints(text: str, base: int = 10) -> list[int]:
    return [int(v, base) for v in text.split(",")] if text else []


def _label_kind(label: str) -> int:
    kind = _RECORD_LABELS.get(label)
    if kind is not None:
        return kind
    if label.startswith("Alert ("):
        return _ALERT
    return _IGNORED if label.startswith(_IGNORED_PREFIXES) else _HANDSHAKE


@functools.lru_cache(maxsize=4096)
def _label_kinds(info: str) -> tuple[int, ...]:
    """The kinds an Info column lists (cached: a capture repeats a few dozen distinct ones)."""
    labels = [m.group(1).strip() for m in _LABEL_RE.finditer(info)]
    return tuple(_label_kind(label) for label in labels if label and not label.startswith("["))


@functools.lru_cache(maxsize=4096)
def _codes(text: str) -> tuple[int, ...]:
    """Record or handshake type lists, cached: they repeat from connection to connection."""
    return tuple(_ints(text))


@functools.lru_cache(maxsize=4096)
def _events(info: str, content: str, handshakes: int, alerts: int) -> tuple[tuple[int, ...], bool]:
    """The frame's messages in wire order as kinds, and whether the Info labels were usable
    (``handshakes``: typed handshake messages, ``alerts``: readable alerts in the frame).

    Info is trusted when it accounts for every record type tshark reports; a protocol above TLS
    that rewrote the column (HTTP does, whatever is disabled) fails that test, and the order is
    then rebuilt from the records alone: each handshake record carries the typed messages (all
    on the first one) or, with none, is an encrypted one."""
    kinds = _label_kinds(info)
    records = _codes(content)
    count = kinds.count
    if (
        count(_HANDSHAKE) == handshakes
        and count(_CCS) == records.count(20)
        and count(_APP_DATA) == records.count(23)
        and count(_ALERT) + count(_ENCRYPTED_ALERT) == records.count(21)
    ):
        return kinds, True
    rebuilt: list[int] = []
    handshakes_left = handshakes
    for content in records:
        if content == 22:
            rebuilt += [_HANDSHAKE] * handshakes_left or [_ENCRYPTED_HANDSHAKE]
            handshakes_left = 0
        elif content == 21:
            rebuilt.append(_ALERT if alerts > 0 else _ENCRYPTED_ALERT)
            alerts -= 1
        else:
            rebuilt.append(_CONTENT_TYPES.get(content, _IGNORED))
    return tuple(rebuilt), False


def _frame_messages(builder: ConnectionBuilder, sender: str, values: list[str], where: str) -> None:
    """Turn one frame's fields into messages on ``builder`` (see the module docstring)."""
    types = _codes(values[_HS_TYPE])
    levels, descs = _ints(values[_ALERT_LEVEL]), _ints(values[_ALERT_DESC])
    kinds, exact = _events(values[_INFO], values[_CONTENT], len(types), len(levels))
    if not exact:
        builder.note(f"{where}: order of the records in this frame rebuilt from record types")
    hello_count = types.count(1) + types.count(2)
    hellos = _Hellos(values, hello_count) if hello_count else None
    cert_lengths = _ints(values[_CERTS_LEN]) if 11 in types else []
    handshakes = iter(types)
    alert_index = 0
    for kind in kinds:
        if kind == _HANDSHAKE:
            code = next(handshakes)
            name = iana.HANDSHAKE_NAMES.get(code)
            if name is None:
                builder.add(sender, UNKNOWN_HANDSHAKE, where, code=code)
            elif hellos is not None and code in (1, 2):
                hellos.add(builder, sender, name, where)
            elif name == "Certificate" and cert_lengths:
                builder.add(sender, name, where, empty=cert_lengths.pop(0) == 0)
            else:
                builder.add(sender, name, where)
        elif kind == _ENCRYPTED_HANDSHAKE:
            builder.encrypted_handshake(sender, where)
        elif kind == _CCS:
            builder.add(sender, "ChangeCipherSpec", where)
        elif kind == _APP_DATA:
            builder.add(sender, "ApplicationData", where)
        elif kind == _ENCRYPTED_ALERT:
            builder.alert(sender, where, None, None)
        elif kind == _ALERT:
            level = (
                iana.ALERT_LEVELS.get(levels[alert_index]) if alert_index < len(levels) else None
            )
            code = descs[alert_index] if alert_index < len(descs) else None
            description = None if code is None else iana.alert_description(code)
            if code is not None and description is None:
                builder.note(f"{where}: alert description {code} is not in the IANA registry")
            builder.alert(sender, where, level, description)
            alert_index += 1
        else:  # _IGNORED: RFC 6520 heartbeats and what tshark could not frame as TLS
            builder.note(f"{where}: a heartbeat or unreadable record was skipped")


def _extension_names(text: str) -> list[str]:
    return list(_extension_tuple(text))  # a list of its own for every message


@functools.lru_cache(maxsize=1024)
def _extension_tuple(text: str) -> tuple[str, ...]:
    return tuple(iana.extension_name(c) for c in _ints(text))


class _Hellos:
    """The hello fields of one frame, handed out hello by hello.

    A frame comes from one sender, so it holds ClientHellos or ServerHellos, nearly always one.
    Versions and session-ID lengths come one per hello; a session ID only when non-empty; one
    cipher suite per ServerHello. Extension lists cannot be split between several hellos of one
    frame, so then they are left unknown (absent)."""

    __slots__ = (
        "extensions",
        "hello_count",
        "index",
        "sid_lengths",
        "sids",
        "suites",
        "supported",
        "versions",
    )

    def __init__(self, values: list[str], hello_count: int) -> None:
        self.hello_count = hello_count
        self.index = 0
        self.versions = _ints(values[_HS_VERSION], 16)
        self.sid_lengths = _ints(values[_SID_LEN])
        self.sids = values[_SID].split(",") if values[_SID] else []
        self.suites = values[_SUITE]  # read for ServerHellos only (a ClientHello lists dozens)
        self.supported = tuple(_ints(values[_SUPPORTED], 16))
        self.extensions = values[_EXT]  # named only for a ServerHello (ClientHellos list many)

    def add(self, builder: ConnectionBuilder, sender: str, name: str, where: str) -> None:
        i = self.index
        self.index += 1
        version = self.versions[i] if i < len(self.versions) else 0
        sid = ""
        if i < len(self.sid_lengths) and self.sid_lengths[i] and self.sids:
            sid = self.sids.pop(0)
        single = self.hello_count == 1
        attributes: dict[str, object] = {}
        if name == "ServerHello":
            if self.suites:  # one suite per ServerHello: the next in the list is this one's
                code, _, self.suites = self.suites.partition(",")
                attributes["cipher_suite"] = iana.suite_name(int(code, 16))
            if single:
                attributes["extensions"] = _extension_names(self.extensions)
            offered = self.supported[-1:] if single else ()
        else:
            offered = self.supported if single else ()
        builder.hello(sender, name, where, sid, (version, *offered), **attributes)


def read_pcap(
    path: Path, *, keylog: Path | None = None, tls_ports: Sequence[int] = ()
) -> Iterator[Trace | InputError]:
    """Yield one ``Trace`` per TCP connection carrying TLS, in order of its first TLS frame, then
    an ``InputError`` if tshark could not read the file to its end (naming the frame).

    A connection's trace is yielded as soon as it and every connection that started before it
    are closed (FIN both ways, or RST); the rest come at the end of the file."""
    require_tshark(keylog)
    source = str(path)
    connections: dict[str, _Connection] = {}
    order: deque[str] = deque()  # stream ids by first TLS frame, not yet yielded
    seen: dict[str, int] = {}
    last_frame = 0
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            tshark_argv(path, keylog=keylog, tls_ports=tls_ports),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            bufsize=1 << 16,
        )
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                values = line.rstrip("\n").split("\t")
                if len(values) != len(FIELDS):
                    continue
                last_frame = int(values[_FRAME])
                stream = values[_STREAM]
                if not stream:  # TLS not over TCP (QUIC's handshake): not a TLS 1.2 record stream
                    continue
                conn = connections.get(stream)
                src = _endpoint(values[_SRC4], values[_SRC6], values[_SPORT])
                if values[_TLS]:
                    if conn is None:
                        dst = _endpoint(values[_DST4], values[_DST6], values[_DPORT])
                        conn = _Connection(ConnectionBuilder(source), (src, dst), last_frame)
                        connections[stream] = conn
                        order.append(stream)
                    if len(line) >= _COLUMN_LIMIT and _cut(values):
                        conn.builder.note(
                            f"frame {last_frame}: more records than tshark's summary lists"
                        )
                    _frame_messages(conn.builder, src, values, f"frame {last_frame}")
                if conn is None or not (values[_FIN] == "1" or values[_RST] == "1"):
                    continue
                conn.fins.add(src)
                conn.closed = values[_RST] == "1" or len(conn.fins) == 2
                while order and connections[order[0]].closed:
                    yield _trace(connections.pop(order.popleft()), seen)
        finally:
            proc.stdout.close()
            if proc.poll() is None and sys.exc_info()[0] is not None:
                proc.kill()  # the consumer stopped early or failed: do not wait for tshark
            rc = proc.wait()
        stderr.seek(0)
        errors = [
            line.strip()
            for line in stderr.read().decode(errors="replace").splitlines()
            if line.startswith("tshark:")
        ]
    while order:
        yield _trace(connections.pop(order.popleft()), seen)
    if rc != 0 or errors:
        reason = errors[0].removeprefix("tshark: ") if errors else f"tshark exited with {rc}"
        damaged = any(word in reason for word in ("cut short", "corrupt", "damaged"))
        yield InputError(source, _failed_frame(path, last_frame) if damaged else None, reason)


def _cut(values: list[str]) -> bool:
    """Drop the partial last item of every column tshark cut short; True if any was."""
    cut = False
    for index, value in enumerate(values):
        limit = _INFO_LIMIT if index == _INFO else _COLUMN_LIMIT
        if len(value) >= limit:
            values[index] = value[: max(value.rfind(","), 0)]
            cut = True
    return cut


def _trace(conn: _Connection, seen: dict[str, int]) -> Trace:
    """The connection's trace, its id numbered if its 4-tuple came before (port reuse)."""
    client = conn.builder.client_key()
    first, second = conn.endpoints
    pair = (first, second) if client in (None, first) else (second, first)
    trace_id = f"{pair[0]}-{pair[1]}"
    seen[trace_id] = seen.get(trace_id, 0) + 1
    if seen[trace_id] > 1:
        trace_id += f"#{seen[trace_id]}"
    return conn.builder.finish(trace_id, client)


def _failed_frame(path: Path, last_tls_frame: int) -> str:
    """Where reading stopped: the frame after the last one tshark read (error path only)."""
    try:
        argv = ["tshark", "-r", str(path), "-n", "--disable-protocol", "ALL"]
        out = subprocess.run(
            [*argv, "-T", "fields", "-e", "frame.number"],
            capture_output=True,
            text=True,
            timeout=600,
        ).stdout.split()
    except subprocess.TimeoutExpired:
        out = []
    last = int(out[-1]) if out else last_tls_frame
    return f"frame {last + 1}"
