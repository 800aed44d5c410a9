"""Turn DOT text into SVG / PNG / PDF with the real graphviz ``dot``, reproducibly.

Why a subprocess and not a Python binding: the DOT is ours (``draw``), so all we need from
graphviz is its layout engine; calling ``dot`` keeps the project free of a binding dependency
and lets ``--format dot`` work on machines without graphviz. The rendered file carries a
comment with the SHA-256 of its DOT source, so a test can tell a stale SVG from one that was
merely drawn by another graphviz version. ``SOURCE_DATE_EPOCH`` and a fixed CreationDate
keep PDFs free of the wall clock.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess

from tlsmodel.errors import UsageError

FORMATS = ("svg", "png", "pdf", "dot")
SOURCE_MARK = "tlsmodel dot source sha256 "
_MARK_RE = re.compile(re.escape(SOURCE_MARK) + r"([0-9a-f]{64})")
_TIMEOUT = 120
# cairo in graphviz 2.43 stamps the wall clock into a PDF; the same-length epoch date keeps
# the cross-reference offsets valid
_PDF_DATE_RE = re.compile(rb"(/(?:CreationDate|ModDate) \(D:)\d{14}")


def source_digest(dot_text: str) -> str:
    """The SHA-256 of a DOT source, as stamped into what is rendered from it."""
    return hashlib.sha256(dot_text.encode("utf-8")).hexdigest()


def stamped_digest(rendered: str) -> str | None:
    """The DOT digest a rendered SVG was drawn from, if it carries one."""
    found = _MARK_RE.search(rendered)
    return found.group(1) if found else None


def dot_version() -> str | None:
    """``dot -V``'s version text, or ``None`` without graphviz."""
    exe = shutil.which("dot")
    if exe is None:
        return None
    done = subprocess.run([exe, "-V"], capture_output=True, text=True, timeout=_TIMEOUT)
    return (done.stderr or done.stdout).strip()


def render(dot_text: str, fmt: str) -> bytes:
    """The bytes of ``dot_text`` in ``fmt``; ``UsageError`` if graphviz is missing or fails."""
    if fmt == "dot":
        return dot_text.encode("utf-8")
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    exe = shutil.which("dot")
    if exe is None:
        raise UsageError("graphviz's dot not found: apt-get install graphviz")
    head, _, body = dot_text.partition("\n")
    stamped = f'{head}\n  comment="{SOURCE_MARK}{source_digest(dot_text)}";\n{body}'
    env = dict(os.environ, SOURCE_DATE_EPOCH="0")
    try:
        done = subprocess.run(
            [exe, f"-T{fmt}"],
            input=stamped.encode("utf-8"),
            capture_output=True,
            timeout=_TIMEOUT,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UsageError(f"graphviz's dot took longer than {_TIMEOUT} s") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"graphviz's dot failed: {reason[0] if reason else done.returncode}")
    if fmt == "pdf":
        return _PDF_DATE_RE.sub(rb"\g<1>19700101000000", done.stdout)
    return done.stdout
