"""``tlsmodel oracle``: judge every connection of one or more inputs against the model.

Exit codes are the contract CI systems rely on: 0 when nothing deviates (incomplete and
unsupported connections are reported but do not fail unless ``--strict``), 1 when a connection
deviates (and is not listed in ``--expect-failures``), 2 for bad input — a malformed line or a
corrupt capture is reported as ``file:line: reason`` and every other connection is still judged.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tlsmodel.model.trace import TraceError, parse_line
from tlsmodel.oracle.judge import VERDICTS, Judgement, as_json_line, human, judge, judge_all

from tlsmodel.errors import UsageError

FORMATS = ("auto", "jsonl", "pcap", "openssl-msg")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``oracle`` subcommand."""
    parser = subparsers.add_parser(
        "oracle",
        help="check captured handshakes (JSONL traces, pcap/pcapng, openssl -msg logs)",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("inputs", nargs="+", metavar="FILE", help="trace files or captures")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="auto",
        help="input format (default: detected from the content)",
    )
    parser.add_argument(
        "--keylog",
        metavar="FILE",
        help="SSLKEYLOGFILE to decrypt captures (names encrypted messages)",
    )
    parser.add_argument(
        "--tls-port",
        type=int,
        action="append",
        default=[],
        metavar="N",
        help="decode TCP port N as TLS (captures on non-standard ports)",
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per connection (JSON Lines) on stdout"
    )
    parser.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report")
    parser.add_argument(
        "--expect-failures",
        metavar="FILE",
        help="connection ids or deviation kinds (one per line) that may deviate",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="incomplete and unsupported connections fail the run too",
    )
    parser.set_defaults(func=run)


def _read_expected(path: str | None) -> frozenset[str]:
    if path is None:
        return frozenset()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise UsageError(f"{path}: {err.strerror}") from None
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and line[0] != "#")


@dataclass(frozen=True, slots=True)
class _Options:
    """What reporting one connection needs (picklable: worker processes get a copy)."""

    json: bool
    strict: bool
    keep: bool  # keep judgements (for --junit)
    known: frozenset[str]


# One reported item: (error line or None, report text, verdict, fails the run, judgement).
_Row = tuple[str | None, str, str, bool, "Judgement | None"]


def _report(item: Judgement | TraceError, path: str, opts: _Options) -> _Row:
    """Format one judged connection (or one bad-input error) for the user."""
    if isinstance(item, TraceError):
        return f"tlsmodel: {item}", "", "error", False, None
    expected_failure = item.id in opts.known or item.kind in opts.known
    failed = (item.verdict == "deviates" and not expected_failure) or (
        opts.strict and item.verdict in ("incomplete", "unsupported")
    )
    waived = expected_failure and item.verdict == "deviates"
    if opts.json:
        if waived:  # CI reading JSON must see which deviations the list let pass
            text = json.dumps({**item.to_json(), "expected_failure": True}, separators=(",", ":"))
        else:
            text = as_json_line(item)
    else:
        text = human(item, path if item.verdict == "deviates" else None)
        if waived:
            head, newline, rest = text.partition("\n")
            text = f"{head} (expected failure){newline}{rest}"
    return None, text, item.verdict, failed, item if opts.keep else None


def _report_lines(chunk: list[tuple[int, str]], path: str, opts: _Options) -> list[_Row]:
    """Parse, judge and format a chunk of JSONL lines (runs in a worker process)."""
    rows = []
    for number, line in chunk:
        if not line.strip():
            continue
        source = f"{path}:{number}"
        try:
            item: Judgement | TraceError = judge(parse_line(line), source)
        except TraceError as err:
            item = TraceError(f"{source}: {err}")
        rows.append(_report(item, path, opts))
    return rows


_CHUNK_LINES = 2048
_PARALLEL_BYTES = 4 << 20  # below this, worker start-up costs more than it saves


def _jsonl_rows(path: str, opts: _Options) -> Iterator[_Row]:
    """Rows of a JSONL file in order, judged on every core when the file is large."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        chunks = _chunks(enumerate(handle, start=1))
        workers = os.cpu_count() or 1
        if workers == 1 or os.path.getsize(path) < _PARALLEL_BYTES:
            for chunk in chunks:
                yield from _report_lines(chunk, path, opts)
            return
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            pending: deque[Future[list[_Row]]] = deque()
            for chunk in chunks:
                pending.append(pool.submit(_report_lines, chunk, path, opts))
                if len(pending) > 2 * workers:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()


def _chunks(lines: Iterator[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    chunk: list[tuple[int, str]] = []
    for item in lines:
        chunk.append(item)
        if len(chunk) == _CHUNK_LINES:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _rows(path: str, args: argparse.Namespace, opts: _Options) -> Iterator[_Row]:
    """Rows of any input: JSONL directly, captures and logs through ``oracle.inputs``."""
    from tlsmodel.oracle import inputs

    fmt = inputs.detect_format(Path(path)) if args.format == "auto" else args.format
    if fmt == "jsonl":
        yield from _jsonl_rows(path, opts)
        return
    loaded = inputs.load(path, fmt, keylog=args.keylog, tls_ports=tuple(args.tls_port))
    for item in judge_all(loaded):
        yield _report(item, path, opts)


def run(args: argparse.Namespace) -> int:
    """Judge every input; print one report per connection; return the exit code."""
    from tlsmodel.oracle.junit import write_junit

    for path in args.inputs:
        if not os.path.isfile(path):
            raise UsageError(f"{path}: no such file")
    if args.junit and any(os.path.abspath(args.junit) == os.path.abspath(p) for p in args.inputs):
        raise UsageError(f"--junit {args.junit} would overwrite an input file")
    opts = _Options(args.json, args.strict, bool(args.junit), _read_expected(args.expect_failures))
    judgements: list[Judgement] = []
    counts = dict.fromkeys(VERDICTS, 0)
    bad_input = failed = False
    write = sys.stdout.write
    for path in args.inputs:
        for error, text, verdict, fails, judgement in _rows(path, args, opts):
            if error is not None:
                print(error, file=sys.stderr)
                bad_input = True
                continue
            counts[verdict] += 1
            failed = failed or fails
            if judgement is not None:
                judgements.append(judgement)
            write(text + "\n")
    if args.junit:
        write_junit(args.junit, judgements, opts.known, args.strict)
    if not args.json:
        summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
        print(f"{sum(counts.values())} connections: {summary or 'none'}", file=sys.stderr)
    if bad_input:
        return 2
    return 1 if failed else 0
