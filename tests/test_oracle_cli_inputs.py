"""The oracle as a user meets it: the documented one-line errors of ``tlsmodel oracle`` for
garbage, a missing tshark and a forced wrong format; the README's pytest example run as a
test of its own; the package's load helpers. Real captures and logs through the CLI are in
test_oracle_inputs_peers.py."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"
PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)


def oracle(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "tlsmodel", "oracle", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)


def test_garbage_is_one_line_exit_2(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 4)
    result = oracle(str(garbage))
    assert result.returncode == 2
    assert result.stderr == (
        f"tlsmodel: {garbage}: not a pcap/pcapng capture, openssl -msg log or JSON Lines file "
        "(give --format to force one)\n"
    )
    assert result.stdout == ""


@pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tshark")
def test_garbage_forced_as_pcap_names_the_file(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pcap"
    garbage.write_bytes(b"not a capture at all\n" * 50)
    result = oracle(str(garbage), "--format", "pcap")
    assert result.returncode == 2
    assert result.stderr.startswith(f"tlsmodel: {garbage}: ")
    assert "isn't a capture file" in result.stderr and "Traceback" not in result.stderr


def test_tshark_missing_gives_the_install_hint(tmp_path: Path) -> None:
    capture = tmp_path / "c.pcap"
    capture.write_bytes(PCAP_HEADER)
    result = oracle(str(capture), env={"PATH": str(tmp_path)})  # a PATH without tshark
    assert result.returncode == 2
    assert result.stderr == "tlsmodel: tshark is needed to read captures: apt-get install tshark\n"


def _readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Checking traces from Python", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the README's Python section has no example"
    return match.group(1)


RFC5246_FIGURE2 = """
import pytest

SH = {"cipher_suite": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "resumed": True, "extensions": []}
ABBREVIATED = [("client", "ClientHello", {}), ("server", "ServerHello", SH)] + [
    (sender, kind, {})
    for sender in ("server", "client")
    for kind in ("ChangeCipherSpec", "Finished")
]
MESSAGES = [{"from": sender, "type": kind, **attrs} for sender, kind, attrs in ABBREVIATED]


@pytest.fixture(params=["legal", "ccs-first"])
def my_handshake_messages(request):
    if request.param == "legal":
        return MESSAGES
    return [MESSAGES[0], MESSAGES[1], MESSAGES[4], *MESSAGES[2:4], MESSAGES[5]]
"""


def test_readme_pytest_example_runs(tmp_path: Path) -> None:
    """The README's example, given a fixture with one legal abbreviated handshake (RFC 5246
    Figure 2) and one with the client's CCS first: the first passes, the second fails."""
    example = _readme_example()
    assert len(example.strip().splitlines()) <= 12
    (tmp_path / "conftest.py").write_text(RFC5246_FIGURE2)
    (tmp_path / "test_readme_example.py").write_text(example)
    argv = [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", str(tmp_path)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    summary = result.stdout + result.stderr
    assert "PASSED test_readme_example.py::test_my_server_handshake[legal]" in summary, summary
    assert "FAILED test_readme_example.py::test_my_server_handshake[ccs-first]" in summary
    assert "1 failed, 1 passed" in summary, summary


def test_package_loads_and_judges_a_file(tmp_path: Path) -> None:
    """``tlsmodel.oracle`` alone is enough to judge a file: ``load_traces`` then ``judge``."""
    from tlsmodel.oracle import InputError, Judgement, judge, load_traces

    path = tmp_path / "mine.jsonl"
    legal = [{"from": "client", "type": "ClientHello"}]
    path.write_text(json.dumps({"id": "short", "messages": legal}) + "\n[]\n")
    first, second = list(load_traces(path))
    assert isinstance(second, InputError) and "JSON object" in second.reason
    judged = judge(first, f"{path}:1")
    assert isinstance(judged, Judgement)
    assert (judged.id, judged.verdict) == ("short", "incomplete")
