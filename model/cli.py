"""``tlsmodel traces``: list (or count) the legal traces of the model, in the trace format."""

from __future__ import annotations

import argparse
import json
import sys

from tlsmodel.errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``traces`` subcommand."""
    parser = subparsers.add_parser(
        "traces",
        help="enumerate legal handshake traces (JSON Lines) or count them",
        description="Enumerate the legal traces of the model that end where a trace may end "
        "(completed handshake, or closed by an alert), in the JSONL trace format.",
    )
    parser.add_argument(
        "--suite", metavar="NAME", help="IANA cipher suite (or hex code) the ServerHello selects"
    )
    parser.add_argument("--family", metavar="NAME", help="key-exchange family instead of a suite")
    parser.add_argument(
        "--client-auth",
        choices=("none", "empty", "cert"),
        help="no CertificateRequest / empty client Certificate / a certificate",
    )
    parser.add_argument(
        "--resume",
        choices=("id", "ticket"),
        help="abbreviated handshakes resuming by session ID or by ticket",
    )
    parser.add_argument(
        "--max-len",
        type=int,
        default=16,
        metavar="N",
        help="longest trace, in messages (default 16)",
    )
    parser.add_argument(
        "--all-messages",
        action="store_true",
        help="also interleave ApplicationData, alerts and HelloRequest",
    )
    parser.add_argument("--count", action="store_true", help="print only how many there are")
    parser.add_argument("--json", action="store_true", help="with --count: a JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the traces (or their number)."""
    from tlsmodel.model.generate import Generator, Restriction
    from tlsmodel.model.suites import FAMILIES, lookup_suite
    from tlsmodel.model.trace import Trace, dump

    if args.max_len < 0 or args.max_len > 200:
        raise UsageError("--max-len must be between 0 and 200")
    family, suite = args.family, None
    if args.suite:
        if args.family:
            raise UsageError("give --suite or --family, not both")
        try:
            found = lookup_suite(args.suite)
        except KeyError as err:
            raise UsageError(err.args[0]) from None
        family, suite = found.family, found.name
    if family is not None and family not in FAMILIES:
        raise UsageError(f"unknown family {family!r}; one of {', '.join(FAMILIES)}")
    restriction = Restriction(
        family, suite, args.client_auth, args.resume, args.max_len, args.all_messages
    )
    generator = Generator(restriction)
    if args.count:
        count = generator.count()
        print(json.dumps({"count": count, "max_len": args.max_len}) if args.json else count)
        return 0
    out = sys.stdout
    for number, messages in enumerate(generator.traces(), start=1):
        out.write(dump(Trace(f"t{number}", messages)) + "\n")
    return 0
