"""The ``tlsmodel`` console command: one front for the checker, diagrams, oracle and peers.

Each subcommand lives in the module that owns its concept and exposes ``register(subparsers)``;
that function must not import anything heavy (z3, cryptography), so that ``tlsmodel --help`` and
the fast commands start quickly. The work happens in the function the subcommand sets as
``func``, which returns the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from tlsmodel import __version__
from tlsmodel.errors import UsageError

# Module paths of the subcommands, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "tlsmodel.proofs.cli",
    "tlsmodel.model.cli",
    "tlsmodel.oracle.cli",
    "tlsmodel.diagrams.cli",
    "tlsmodel.reference.cli",
)


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 (argparse prints the usage block)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        command = self.prog.removeprefix("tlsmodel").strip()
        raise UsageError(f"{command}: {message}" if command else message)


def build_parser() -> argparse.ArgumentParser:
    """Assemble the parser from every registered subcommand module."""
    parser = _Parser(
        prog="tlsmodel",
        description="The machine-checked reference for TLS 1.2 handshake orderings: prove the "
        "model, enumerate legal traces, judge captures, draw diagrams, run reference peers.",
    )
    parser.add_argument("--version", action="version", version=f"tlsmodel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; bad input becomes one line on stderr and exit code 2."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args))
    except UsageError as exc:
        print(f"tlsmodel: {exc}", file=sys.stderr)
        return UsageError.exit_code
    except KeyboardInterrupt:
        print("tlsmodel: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
