"""The ``tlsmodel`` front: every subcommand has ``--help``, and bad usage is one line + exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tlsmodel.cli import build_parser

COMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def tlsmodel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tlsmodel", *args], capture_output=True, text=True, timeout=60
    )


def test_the_documented_commands_are_there() -> None:
    assert {"check", "traces", "oracle", "diagram", "server", "client"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command: str) -> None:
    result = tlsmodel(command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: tlsmodel {command}")


@pytest.mark.parametrize("command", COMMANDS)
def test_unknown_option_is_one_line_and_exit_2(command: str) -> None:
    result = tlsmodel(command, "--no-such-option")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("tlsmodel: ")
    assert "Traceback" not in result.stderr


def test_no_command_prints_help_and_exits_2() -> None:
    result = tlsmodel()
    assert result.returncode == 2 and "usage: tlsmodel" in result.stdout


def test_traces_errors_and_count_json() -> None:
    assert tlsmodel("traces", "--suite", "TLS_NOPE").returncode == 2
    assert tlsmodel("traces", "--suite", "0xc02f", "--family", "RSA").returncode == 2
    result = tlsmodel(
        "traces", "--family", "RSA", "--client-auth", "none", "--max-len", "12", "--count", "--json"
    )
    assert result.returncode == 0 and result.stdout.strip() == '{"count": 12, "max_len": 12}'
