"""``tlsmodel oracle`` on JSONL traces: verdicts, exit codes, JSON/JUnit output, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples" / "handshakes.jsonl"


def oracle(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tlsmodel", "oracle", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def line(trace_id: str, *messages: dict) -> str:
    return json.dumps({"id": trace_id, "messages": list(messages)})


CH = {"from": "client", "type": "ClientHello"}
SH = {
    "from": "server",
    "type": "ServerHello",
    "cipher_suite": "0xc02f",
    "resumed": True,
    "extensions": [],
}
RESUMED = [
    CH,
    SH,
    {"from": "server", "type": "ChangeCipherSpec"},
    {"from": "server", "type": "Finished"},
    {"from": "client", "type": "ChangeCipherSpec"},
    {"from": "client", "type": "Finished"},
]


def test_conforming_file_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_text(line("a", *RESUMED) + "\n" + line("b", CH) + "\n")
    result = oracle(str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "a: conforms"
    assert result.stdout.splitlines()[1].startswith("b: incomplete")


def test_deviation_exits_1_with_index_expected_and_rule(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    bad = [CH, SH, {"from": "client", "type": "ChangeCipherSpec"}]
    path.write_text(line("x", *bad) + "\n")
    result = oracle(str(path), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["version"] == 1
    assert (report["id"], report["verdict"], report["at"]) == ("x", "deviates", 2)
    assert ["server", "ChangeCipherSpec"] in report["expected"]
    assert "Figure 2" in report["rule"]
    assert set(report) >= {"id", "verdict", "at", "expected", "rule"}


def test_malformed_lines_are_reported_and_the_rest_still_checked(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        "\n".join(
            [
                line("good", *RESUMED),
                "{not json",
                "[1, 2]",
                line("unknown-name", CH, {"from": "server", "type": "ServerHi"}),
                line("bad-suite", CH, {**SH, "cipher_suite": "TLS_NOPE"}),
                line("good2", *RESUMED),
            ]
        )
        + "\n"
    )
    original = path.read_bytes()
    result = oracle(str(path))
    assert result.returncode == 2
    errors = result.stderr.splitlines()
    assert any(f"{path}:2: not JSON" in e for e in errors)
    assert any(f"{path}:3: a trace line must be a JSON object" in e for e in errors)
    assert any(f"{path}:4: message #1: unknown message type 'ServerHi'" in e for e in errors)
    assert any(f"{path}:5:" in e and "TLS_NOPE" in e for e in errors)
    assert "good: conforms" in result.stdout and "good2: conforms" in result.stdout
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == original


def test_expect_failures_and_junit(tmp_path: Path) -> None:
    known = tmp_path / "known.txt"
    known.write_text("skip-tls-no-server-key-exchange\nfreak-server-key-exchange-under-rsa\n")
    junit = tmp_path / "report.xml"
    result = oracle(str(EXAMPLES), "--expect-failures", str(known), "--junit", str(junit))
    assert result.returncode == 1  # early-ccs is not listed
    suite = ET.parse(junit).getroot()
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["early-ccs-cve-2014-0224"].find("failure") is not None
    assert cases["freak-server-key-exchange-under-rsa"].find("skipped") is not None
    assert cases["rfc5246-figure1-client-auth"].find("failure") is None
    assert suite.get("failures") == "1"
    known.write_text(known.read_text() + "client ChangeCipherSpec in HELLO_DONE\n")
    assert oracle(str(EXAMPLES), "--expect-failures", str(known)).returncode == 0


def test_strict_fails_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "short.jsonl"
    path.write_text(line("short", CH) + "\n")
    assert oracle(str(path)).returncode == 0
    assert oracle(str(path), "--strict").returncode == 1


@pytest.mark.parametrize("args", [["/nonexistent.jsonl"], ["--bogus", str(EXAMPLES)], []])
def test_usage_errors_exit_2_with_one_line(args: list[str]) -> None:
    result = oracle(*args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("tlsmodel: ")


def test_junit_refuses_to_overwrite_an_input() -> None:
    result = oracle(str(EXAMPLES), "--junit", str(EXAMPLES))
    assert result.returncode == 2
    assert "overwrite" in result.stderr
