"""One entry point for every input the oracle reads, with the format told from the content.

Why detect from content: users hand over whatever their tools wrote, often with a misleading or
no extension. The first bytes tell reliably: pcap and pcapng files start with magic numbers
(gzip-compressed ones with gzip's, tshark reads those too), JSON Lines start with ``{``, an
``openssl -msg`` log has ``>>> ``/``<<< `` record lines near the top, a ``-trace`` log
``Sent Record``/``Received Record`` lines (both are format ``openssl-msg``). Anything else is a
usage error rather than a guess.

Two shapes of the same stream:

- ``load_traces`` yields ``Trace`` (``tlsmodel.model.trace``; captures add ``extra`` keys, see
  ``records``) or ``InputError`` (``file: where: reason``), in input order; an error never hides
  the connections before it.
- ``load`` is what ``tlsmodel oracle`` consumes: ``(source, Trace | TraceError)`` pairs, the
  shape ``judge.judge_all`` takes for JSONL too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from tlsmodel.model.trace import Trace, TraceError, read_jsonl
from tlsmodel.oracle.records import InputError

from tlsmodel.errors import UsageError

FORMATS: Final = ("pcap", "openssl-msg", "jsonl")
_CAPTURE_MAGIC: Final = (
    b"\xa1\xb2\xc3\xd4",  # pcap, microseconds, big-endian
    b"\xd4\xc3\xb2\xa1",  # pcap, microseconds, little-endian
    b"\xa1\xb2\x3c\x4d",  # pcap, nanoseconds
    b"\x4d\x3c\xb2\xa1",
    b"\x0a\x0d\x0d\x0a",  # pcapng section header block
    b"\x1f\x8b",  # gzip (tshark reads compressed captures)
)
_MSG_LINE_RE: Final = re.compile(rb"^(>>>|<<<) .*, \w+ \[length [0-9a-fA-F]+\]", re.MULTILINE)
_TRACE_LINE_RE: Final = re.compile(rb"^(Sent|Received) Record\s*$", re.MULTILINE)


def detect_format(path: Path) -> str:
    """``"pcap"`` (pcap or pcapng), ``"openssl-msg"`` or ``"jsonl"``; UsageError otherwise."""
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
    except OSError as err:
        raise UsageError(f"{path}: {err.strerror}") from None
    if head.startswith(_CAPTURE_MAGIC):
        return "pcap"
    if head.lstrip()[:1] == b"{" or (not head.strip() and path.suffix == ".jsonl"):
        return "jsonl"  # an empty .jsonl file is a trace file with no connections
    if _MSG_LINE_RE.search(head) or _TRACE_LINE_RE.search(head):
        return "openssl-msg"  # -msg or -trace: load_traces tells them apart
    raise UsageError(
        f"{path}: not a pcap/pcapng capture, openssl -msg log or JSON Lines file "
        "(give --format to force one)"
    )


def load_traces(
    path: str | Path,
    fmt: str | None = None,
    keylog: str | Path | None = None,
    tls_ports: Sequence[int] = (),
) -> Iterator[Trace | InputError]:
    """Every connection of one input file as a ``Trace``, and ``InputError`` for what could not
    be read. ``fmt`` None or ``"auto"`` detects; ``keylog``/``tls_ports`` apply to captures."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    fmt = detect_format(path) if fmt in (None, "auto") else fmt
    if fmt in ("pcap", "pcapng"):
        from tlsmodel.oracle.pcap import read_pcap, require_tshark

        keylog = None if keylog is None else Path(keylog)
        require_tshark(keylog)  # now, not at the first next()
        return read_pcap(path, keylog=keylog, tls_ports=tls_ports)
    if fmt == "openssl-msg":
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
        if _TRACE_LINE_RE.search(head) and not _MSG_LINE_RE.search(head):
            from tlsmodel.oracle.openssl_trace import read_openssl_trace

            return read_openssl_trace(path)
        from tlsmodel.oracle.openssl_log import read_openssl_log

        return read_openssl_log(path)
    if fmt == "jsonl":
        return _jsonl(path)
    raise UsageError(f"unknown input format {fmt!r} (one of: {', '.join(FORMATS)})")


def _jsonl(path: Path) -> Iterator[Trace | InputError]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, item in read_jsonl(handle):
            if isinstance(item, TraceError):
                yield InputError(str(path), f"{number}", str(item))
            else:
                yield item


def load(
    path: str | Path,
    fmt: str | None = None,
    keylog: str | Path | None = None,
    tls_ports: Sequence[int] = (),
) -> Iterator[tuple[str, Trace | TraceError]]:
    """``load_traces`` as ``(source, Trace | TraceError)`` pairs for ``judge.judge_all``.

    The source of a capture's trace is ``file:frame N`` (``file:line N`` for logs) of its first
    message; an ``InputError`` becomes a ``TraceError`` whose text starts with where it is."""
    for item in load_traces(path, fmt, keylog, tls_ports):
        if isinstance(item, InputError):
            where = f"{item.where}: " if item.where else ""
            yield item.source, TraceError(f"{where}{item.reason}")
            continue
        locations = item.extra.get("locations") or ()
        yield (f"{path}:{locations[0]}" if locations else str(path)), item
