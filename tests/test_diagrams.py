"""The committed diagrams are fresh, the output is deterministic, and the command's edges hold.

The committed set under diagrams/ is what a reader sees on GitHub; if the tables change and
nobody re-ran ``tlsmodel diagram --all --out diagrams/``, this file fails and says which files.
DOT files and the hand-written sequence charts must match byte for byte. A graphviz SVG must
carry the digest of the current DOT (so it was drawn from it); it is compared byte for byte too
when the installed graphviz is the one that drew it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tlsmodel.diagrams import cli
from tlsmodel.diagrams.render import dot_version, source_digest, stamped_digest

from tlsmodel.errors import UsageError

ROOT = Path(__file__).parent.parent
DIAGRAMS = ROOT / "diagrams"
EXAMPLE = DIAGRAMS / "examples" / "rfc5246.jsonl"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot not installed")


class _Parser(argparse.ArgumentParser):
    """As ``tlsmodel.cli``: a usage error is a ``UsageError``, not argparse's exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def run_diagram(argv: list[str]) -> int:
    """Run ``tlsmodel diagram`` the way the front end does: UsageError means exit code 2."""
    parser = _Parser(prog="tlsmodel")
    cli.register(parser.add_subparsers(parser_class=_Parser))
    try:
        args = parser.parse_args(["diagram", *argv])
        return int(args.func(args))
    except UsageError:
        return 2


def committed() -> set[str]:
    return {p.name for p in DIAGRAMS.iterdir() if p.suffix in (".dot", ".svg")}


def test_committed_diagrams_are_fresh(tmp_path: Path) -> None:
    """Without graphviz only the DOT sources and sequence charts can be checked (and are)."""
    have_dot = shutil.which("dot") is not None
    fmt = ["--format", "svg"] if have_dot else ["--format", "dot"]
    assert run_diagram(["--all", "--out", str(tmp_path), *fmt]) == 0
    fresh = {p.name for p in tmp_path.iterdir()}
    expected = (
        committed()
        if have_dot
        else {n for n in committed() if n.endswith(".dot") or n.startswith("msc-")}
    )
    assert fresh == expected, "regenerate: tlsmodel diagram --all --out diagrams/"
    version = dot_version()
    stale = []
    for name in sorted(fresh):
        new = (tmp_path / name).read_text("utf-8")
        old = (DIAGRAMS / name).read_text("utf-8")
        digest = stamped_digest(new)
        if digest is None:  # DOT sources and the hand-written sequence charts
            if new != old:
                stale.append(name)
            continue
        dot_source = (DIAGRAMS / name).with_suffix(".dot").read_text("utf-8")
        drawn_by_same = version is not None and version.replace("dot - ", "by ") in old
        if stamped_digest(old) != source_digest(dot_source) or (drawn_by_same and new != old):
            stale.append(name)
    if not have_dot:  # the committed SVGs must still have been drawn from the committed DOT
        for name in sorted(committed() - fresh):
            dot_source = (DIAGRAMS / name).with_suffix(".dot").read_text("utf-8")
            if stamped_digest((DIAGRAMS / name).read_text("utf-8")) != source_digest(dot_source):
                stale.append(name)
    assert not stale, f"stale, regenerate with tlsmodel diagram --all --out diagrams/: {stale}"


def test_dot_output_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        assert run_diagram(["--family", "PSK", "--format", "dot", "--out", str(out)]) == 0
        assert run_diagram(["--trace", str(EXAMPLE), "--format", "dot", "--out", str(out)]) == 0
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert names  # something was written
    for name in names:
        text = (first / name).read_bytes()
        assert text == (second / name).read_bytes(), name
        assert not re.search(rb"20\d\d-\d\d-\d\d", text), f"{name} carries a date"


def test_format_dot_works_without_graphviz(tmp_path: Path) -> None:
    """PATH without ``dot``: DOT is still written; svg is refused with the install hint."""
    empty = tmp_path / "bin"
    empty.mkdir()
    env = dict(os.environ, PATH=str(empty))
    script = (
        "import sys; from tests.test_diagrams import run_diagram; "
        "sys.exit(run_diagram(sys.argv[1:]))"
    )

    def diagram(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", script, *argv],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    done = diagram("--family", "RSA", "--format", "dot", "--out", str(tmp_path / "o"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "o" / "composite-RSA.dot").read_text().startswith("digraph")
    assert diagram("--family", "RSA", "--out", str(tmp_path / "o")).returncode == 2


def test_missing_dot_is_one_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from tlsmodel.diagrams.render import render

    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(UsageError, match=r"graphviz's dot not found: apt-get install graphviz"):
        render("digraph g {}\n", "svg")


@pytest.mark.parametrize(
    "argv",
    [
        ["--family", "NOPE"],
        ["--suite", "TLS_NOT_A_SUITE"],
        ["--suite", "0xzz"],
        ["--role", "proxy"],
        ["--format", "gif"],
        ["--id", "x"],
        ["--keylog", "k.log"],
        ["--no-such-option"],
        ["--all", "--family", "RSA"],
        ["--trace", "/nonexistent/file.jsonl"],
        ["--trace", str(EXAMPLE), "--id", "no-such-trace"],
        ["--trace", str(EXAMPLE), "--family", "RSA"],
        ["--client-auth", "cert", "--resume", "id"],  # an abbreviated handshake has no auth
        ["--family", "anon", "--client-auth", "cert"],  # anonymous servers never ask
    ],
)
def test_bad_input_exits_2(argv: list[str], tmp_path: Path) -> None:
    assert run_diagram([*argv, "--out", str(tmp_path), "--format", "dot"]) == 2
    assert not list(tmp_path.iterdir())


def test_malformed_trace_line_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "messages": [{"from": "client", "type": "Hello"}]}\n')
    with pytest.raises(UsageError, match=r"bad\.jsonl: connection x: unknown message type"):
        cli.draw_traces(bad, None, "composite", ("dot",), tmp_path, [])
    good = EXAMPLE.read_text().splitlines()[0]
    bad.write_text("not json\n" + good + "\n")
    written: list = []
    cli.draw_traces(bad, "figure1-full", "composite", ("dot",), tmp_path, written)
    assert [p.name for p, _, _ in written] == ["trace-figure1-full.dot", "msc-figure1-full.svg"]
    with pytest.raises(UsageError, match=r"no connection with id 'x' \(unreadable: .*bad\.jsonl:1"):
        cli.draw_traces(bad, "x", "composite", ("dot",), tmp_path, [])


@needs_dot
def test_pdf_carries_no_wall_clock(tmp_path: Path) -> None:
    assert run_diagram(["--family", "anon", "--format", "pdf", "--out", str(tmp_path)]) == 0
    pdf = (tmp_path / "composite-anon.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert b"/CreationDate (D:19700101000000" in pdf
