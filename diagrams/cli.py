"""``tlsmodel diagram``: state diagrams of the model, and traces drawn on them.

Why one command for both: a deviation is explained by the diagram it left, so the oracle's
report points here (``tlsmodel diagram --trace FILE --id ID``). Files are written to ``--out``
(default: the current directory) under stable names, one path printed per file; ``--all``
writes the committed set of diagrams/ (every role × family, the merged view, the examples).
"""

from __future__ import annotations

import argparse
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tlsmodel.errors import UsageError

ROLE_CHOICES = ("composite", "client", "server")
FORMAT_CHOICES = ("svg", "png", "pdf", "dot")
EXAMPLES = Path(__file__).parent / "examples"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``diagram`` subcommand (cheap: nothing heavy is imported here)."""
    parser = subparsers.add_parser(
        "diagram",
        help="draw the model's state diagrams (graphviz), or a trace on them",
        description="Draw the state machine of the model from its tables: the merged view "
        "(every row, with guards) or a projection on a family / suite / client auth / "
        "resumption, in the composite or a role's view; or draw a trace's path, its deviation "
        "and a message-sequence chart.",
    )
    parser.add_argument("--role", choices=ROLE_CHOICES, help="whose view (default composite)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--suite", metavar="NAME", help="IANA cipher suite name or hex code")
    which.add_argument(
        "--family",
        metavar="NAME",
        help="key-exchange family (as in the model, e.g. ECDHE_RSA) or a group: "
        "RSA, DHE, ECDHE, static-DH, anon, PSK (all four PSK key exchanges); comma-separated",
    )
    parser.add_argument(
        "--client-auth",
        choices=("none", "empty", "cert"),
        help="no CertificateRequest / empty client Certificate / a certificate",
    )
    parser.add_argument(
        "--resume",
        choices=("none", "id", "ticket"),
        help="full handshakes only / abbreviated by session ID / by ticket",
    )
    parser.add_argument(
        "--format",
        choices=FORMAT_CHOICES,
        default="svg",
        help="output format (default svg; dot needs no graphviz)",
    )
    parser.add_argument("--out", metavar="DIR", default=".", help="directory to write to")
    parser.add_argument(
        "--all",
        action="store_true",
        help="write the whole committed set (DOT and --format) into --out",
    )
    parser.add_argument(
        "--trace",
        metavar="FILE",
        help="draw the connections of a trace file (JSONL, pcap/pcapng, openssl -msg log)",
    )
    parser.add_argument("--id", metavar="ID", help="with --trace: only this connection")
    parser.add_argument(
        "--keylog", metavar="FILE", help="with --trace on a capture: TLS key log for tshark"
    )
    parser.set_defaults(func=run)


def _families(text: str) -> tuple[str, ...]:
    from tlsmodel.diagrams.views import FAMILY_GROUPS
    from tlsmodel.model.suites import FAMILIES

    found: list[str] = []
    for name in (part.strip() for part in text.split(",")):
        if name in FAMILY_GROUPS:
            found.extend(FAMILY_GROUPS[name])
        elif name in FAMILIES:
            found.append(name)
        else:
            known = ", ".join(dict.fromkeys([*FAMILY_GROUPS, *FAMILIES]))
            raise UsageError(f"unknown family {name!r}; one of {known}")
    return tuple(dict.fromkeys(found))


def choice_from(args: argparse.Namespace) -> tuple[object, str, str]:
    """The ``Choice`` the options ask for, its file-name slug and its title words."""
    from tlsmodel.diagrams.views import Choice
    from tlsmodel.model.suites import lookup_suite

    families: tuple[str, ...] = ()
    slug: list[str] = []
    words: list[str] = []
    if args.suite:
        try:
            suite = lookup_suite(args.suite)
        except KeyError as err:
            raise UsageError(err.args[0]) from None
        families = (suite.family,)
        slug.append(suite.name)
        words.append(f"suite {suite.name} (family {suite.family})")
    elif args.family:
        families = _families(args.family)
        slug.append(args.family.replace(",", "+"))
        words.append(
            f"family {args.family} ({', '.join(families)})"
            if (len(families) > 1 or families[0] != args.family)
            else f"family {args.family}"
        )
    if args.client_auth:
        slug.append(f"auth-{args.client_auth}")
        words.append(f"client auth {args.client_auth}")
    if args.resume:
        slug.append(f"resume-{args.resume}")
        words.append(f"resume {args.resume}")
    choice = Choice(families, args.client_auth, args.resume)
    return choice, "-".join(slug) or "merged", ", ".join(words) or "merged (every row, guards)"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]", "_", text)


Output = tuple[Path, str, str]  # (path, DOT or SVG text, format: svg|png|pdf|dot, or "text")


def _write(out: Path, stem: str, dot_text: str, fmt: str, written: list[Output]) -> None:
    written.append((out / f"{stem}.{fmt}", dot_text, fmt))


def flush(written: list[Output]) -> list[Path]:
    """Render (graphviz runs in parallel: one ``dot`` per file) and write every output."""
    from tlsmodel.diagrams.render import render

    def produce(item: Output) -> bytes:
        _, text, fmt = item
        return text.encode("utf-8") if fmt == "text" else render(text, fmt)

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        contents = list(pool.map(produce, written))
    for (path, _, _), data in zip(written, contents, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return [path for path, _, _ in written]


def draw_view(role: str, choice: object, slug: str, words: str) -> str:
    """The DOT text of one role's view under one choice."""
    from tlsmodel.diagrams.draw import to_dot
    from tlsmodel.diagrams.views import merged_view, projected_view
    from tlsmodel.model.machine import machine_for

    machine = machine_for()
    title = f"TLS 1.2 — {role} view — {words}"
    view = (
        merged_view(machine, title) if choice.is_empty() else projected_view(machine, choice, title)
    )
    if view is None:
        raise UsageError(f"no handshake can complete under {words}")
    return to_dot(view, machine.model.states, role)


def draw_traces(
    path: Path,
    wanted: str | None,
    role: str,
    formats: tuple[str, ...],
    out: Path,
    written: list[Output],
    keylog: str | None = None,
) -> None:
    """Overlay and sequence chart of each connection in ``path`` (or only ``wanted``).

    The file is read as ``tlsmodel oracle`` reads it (JSONL, pcap/pcapng via tshark, openssl
    -msg log), so every deviation the oracle reports can be drawn. With ``--id``, lines that
    cannot be read are skipped unless the wanted connection is not found.
    """
    from tlsmodel.diagrams.draw import to_dot
    from tlsmodel.diagrams.msc import sequence_chart
    from tlsmodel.diagrams.overlay import check_trace
    from tlsmodel.model.machine import machine_for
    from tlsmodel.model.trace import TraceError
    from tlsmodel.oracle.inputs import InputError, load_traces

    machine = machine_for()
    found = False
    unreadable: list[str] = []
    fmt = "jsonl" if path.suffix in (".jsonl", ".json") else "auto"
    for item in load_traces(path, fmt, keylog):
        if isinstance(item, InputError):
            where = f"{item.source}:{item.where}" if item.where else item.source
            unreadable.append(f"{where}: {item.reason}")
            if wanted is None:
                raise UsageError(unreadable[-1])
            continue
        if wanted is not None and item.id != wanted:
            continue
        found = True
        try:
            checked = check_trace(machine, item)
        except TraceError as err:
            raise UsageError(f"{path}: connection {item.id}: {err}") from None
        stem = _safe(item.id)
        text = to_dot(checked.view, machine.model.states, role, checked.overlay)
        for fmt in formats:
            _write(out, f"trace-{stem}", text, fmt, written)
        written.append((out / f"msc-{stem}.svg", sequence_chart(checked), "text"))
    if not found:
        if wanted is None:
            raise UsageError(f"{path}: no connection in it")
        hint = f" (unreadable: {unreadable[0]})" if unreadable else ""
        raise UsageError(f"{path}: no connection with id {wanted!r}{hint}")


def write_all(out: Path, fmt: str) -> list[Output]:
    """The committed set: every role × (merged + each family group), and the examples."""
    from tlsmodel.diagrams.views import FAMILY_GROUPS, Choice

    written: list[Output] = []
    sets = [(Choice(), "merged", "merged (every row, guards)")] + [
        (
            Choice(families),
            name,
            f"family {name}" + ("" if families == (name,) else f" ({', '.join(families)})"),
        )
        for name, families in FAMILY_GROUPS.items()
    ]
    formats = ("dot",) if fmt == "dot" else ("dot", fmt)
    for role in ROLE_CHOICES:
        for choice, slug, words in sets:
            text = draw_view(role, choice, slug, words)
            for each in formats:
                _write(out, f"{role}-{slug}", text, each, written)
    for example in sorted(EXAMPLES.glob("*.jsonl")):
        draw_traces(example, None, "composite", formats, out, written)
    return written


def run(args: argparse.Namespace) -> int:
    """Write the requested diagrams and print their paths."""
    out = Path(args.out)
    role = args.role or "composite"
    written: list[Output] = []
    if args.all:
        if (
            args.suite
            or args.family
            or args.client_auth
            or args.resume
            or args.trace
            or args.role
            or args.id
            or args.keylog
        ):
            raise UsageError("--all draws the whole set; it takes only --out and --format")
        written = write_all(out, args.format)
    elif args.trace:
        if args.suite or args.family or args.client_auth or args.resume:
            raise UsageError("--trace draws the trace's own family; drop the other choices")
        draw_traces(Path(args.trace), args.id, role, (args.format,), out, written, args.keylog)
    else:
        if args.id or args.keylog:
            raise UsageError("--id and --keylog need --trace")
        choice, slug, words = choice_from(args)
        _write(
            out, f"{role}-{_safe(slug)}", draw_view(role, choice, slug, words), args.format, written
        )
    for path in flush(written):
        print(path)
    return 0
