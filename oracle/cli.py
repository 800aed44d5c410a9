"""``tlsmodel oracle``: judge every connection of one or more inputs against the model.

Exit codes are the contract CI systems rely on: 0 when nothing deviates (incomplete and
unsupported connections are reported but do not fail unless ``--strict``), 1 when a connection
deviates (and is not listed in ``--expect-failures``), 2 for bad input — a malformed line or a
corrupt capture is reported as ``file:line: reason`` and every other connection is still judged.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path

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


def _load(path: str, args: argparse.Namespace) -> Iterator[tuple[str, object]]:
    """(source, Trace | TraceError) for each connection of one input file."""
    from tlsmodel.model.trace import read_jsonl

    fmt = args.format
    if fmt == "auto" and _looks_like_jsonl(path):
        fmt = "jsonl"
    if fmt == "jsonl":
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, item in read_jsonl(handle):
                yield f"{path}:{number}", item
        return
    from tlsmodel.oracle import inputs

    yield from inputs.load(path, fmt, keylog=args.keylog, tls_ports=tuple(args.tls_port))


def _looks_like_jsonl(path: str) -> bool:
    """JSON Lines start with an object (after blank space); captures and logs do not."""
    with open(path, "rb") as handle:
        head = handle.read(256).lstrip()
    return head[:1] == b"{" or (not head and path.endswith(".jsonl"))


def _read_expected(path: str | None) -> set[str]:
    if path is None:
        return set()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise UsageError(f"{path}: {err.strerror}") from None
    return {line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"}


def run(args: argparse.Namespace) -> int:
    """Judge every input; print one report per connection; return the exit code."""
    from tlsmodel.model.trace import TraceError
    from tlsmodel.oracle.judge import Judgement, as_json_line, human, judge_all
    from tlsmodel.oracle.junit import write_junit

    for path in args.inputs:
        if not os.path.isfile(path):
            raise UsageError(f"{path}: no such file")
    if args.junit and any(os.path.abspath(args.junit) == os.path.abspath(p) for p in args.inputs):
        raise UsageError(f"--junit {args.junit} would overwrite an input file")
    known = _read_expected(args.expect_failures)
    judgements: list[Judgement] = []
    bad_input = failed = False
    out = sys.stdout
    for path in args.inputs:
        for item in judge_all(_load(path, args)):
            if isinstance(item, TraceError):
                print(f"tlsmodel: {item}", file=sys.stderr)
                bad_input = True
                continue
            judgements.append(item)
            expected_failure = item.id in known or (item.kind in known)
            failed = (
                failed
                or (item.verdict == "deviates" and not expected_failure)
                or (args.strict and item.verdict in ("incomplete", "unsupported"))
            )
            if args.json:
                out.write(as_json_line(item) + "\n")
            else:
                text = human(item, path if item.verdict == "deviates" else None)
                if expected_failure and item.verdict == "deviates":
                    text = text.replace(": deviates", ": deviates (expected failure)", 1)
                out.write(text + "\n")
    if args.junit:
        write_junit(args.junit, judgements, known, args.strict)
    if not args.json:
        counts = {
            v: sum(j.verdict == v for j in judgements)
            for v in ("conforms", "incomplete", "deviates", "unsupported")
        }
        summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
        print(f"{len(judgements)} connections: {summary or 'none'}", file=sys.stderr)
    if bad_input:
        return 2
    return 1 if failed else 0
