"""Judge traces against the model: the oracle's core, independent of where traces come from.

A *judgement* is the model checker's ``TraceVerdict`` for one connection plus what the oracle
knows about the input: where it came from (``file:line`` or a capture's connection), whether the
input format could represent it at all (``unsupported``: TLS 1.3, SSLv3-TLS 1.1), and notes the
reader attached (e.g. encrypted messages named by position because no key log was given).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from tlsmodel.model.checker import Checker, TraceVerdict
from tlsmodel.model.tables import TLS12, Model
from tlsmodel.model.trace import Trace, TraceError, describe

REPORT_VERSION: Final = 1
VERDICTS: Final = ("conforms", "incomplete", "deviates", "unsupported")


@dataclass(frozen=True, slots=True)
class Judgement:
    """The oracle's finding on one connection."""

    id: str
    verdict: str
    source: str
    messages: list[dict[str, Any]]
    result: TraceVerdict | None = None
    notes: tuple[str, ...] = field(default=())
    locations: tuple[str, ...] = field(default=())  # per message, e.g. "frame 8" (captures)

    def to_json(self) -> dict[str, Any]:
        """The machine-readable form (``--json``): stable keys, a version field."""
        result = self.result
        out: dict[str, Any] = {
            "version": REPORT_VERSION,
            "id": self.id,
            "verdict": self.verdict,
            "at": result.at if result else None,
            "message": result.message if result else None,
            "expected": [list(pair) for pair in result.expected] if result else [],
            "rule": result.rule if result else None,
            "states": list(result.states) if result else [],
            "assumptions": list(result.assumptions) if result else [],
            "notes": list(self.notes),
            "source": self.source,
            "length": len(self.messages),
        }
        return out

    @property
    def kind(self) -> str | None:
        """A deviation kind for ``--expect-failures``: ``"<sender> <type> in <STATE>"``."""
        result = self.result
        if self.verdict != "deviates" or result is None or result.message is None:
            return None
        states = "/".join(result.states)
        return f"{result.message.get('from')} {result.message.get('type')} in {states}"


def judge(trace: Trace, source: str, model: Model = TLS12) -> Judgement:
    """Check one trace; a malformed message raises ``TraceError`` naming its index."""
    unsupported = trace.extra.get("unsupported")
    notes = tuple(str(n) for n in trace.extra.get("notes", ()))
    locations = tuple(str(n) for n in trace.extra.get("locations", ()))
    if unsupported:
        notes = (f"unsupported: {unsupported}", *notes)
        return Judgement(trace.id, "unsupported", source, trace.messages, None, notes, locations)
    result = Checker(model).feed_all(trace.messages)
    return Judgement(trace.id, result.verdict, source, trace.messages, result, notes, locations)


def judge_all(
    items: Iterable[tuple[str, Trace | TraceError]], model: Model = TLS12
) -> Iterator[Judgement | TraceError]:
    """Judge every (source, trace) pair; bad input comes back as a ``TraceError`` in place."""
    for source, item in items:
        if isinstance(item, TraceError):
            yield TraceError(f"{source}: {item}")
            continue
        try:
            yield judge(item, source, model)
        except TraceError as err:
            yield TraceError(f"{source}: {err}")


def human(judgement: Judgement, trace_file: str | None = None) -> str:
    """The human report of one connection: a line, and for a deviation where and why."""
    result = judgement.result
    head = f"{judgement.id}: {judgement.verdict}"
    lines = [head]
    if result is not None and judgement.verdict == "deviates" and result.at is not None:
        lines[0] += f" at #{result.at}"
        for index, message in enumerate(judgement.messages[: result.at + 1]):
            marker = "  >>" if index == result.at else "    "
            where = f" ({judgement.locations[index]})" if index < len(judgement.locations) else ""
            lines.append(f"{marker} #{index} {describe(message)}{where}")
        expected = ", ".join(f"{s} {m}" for s, m in result.expected) or "nothing"
        lines.append(f"     in state {'/'.join(result.states)} the model allows: {expected}")
        lines.append(f"     rule: {result.rule}")
        if trace_file is not None:
            quoted = f"{shlex.quote(trace_file)} --id {shlex.quote(judgement.id)}"
            lines.append(f"     draw: tlsmodel diagram --trace {quoted}")
    elif result is not None and judgement.verdict == "incomplete":
        expected = ", ".join(f"{s} {m}" for s, m in result.expected)
        lines[0] += f" after {result.length} messages (next: {expected})"
    for assumption in result.assumptions if result else ():
        lines.append(f"     assuming {assumption}")
    lines.extend(f"     note: {note}" for note in judgement.notes)
    return "\n".join(lines)


def as_json_line(judgement: Judgement) -> str:
    """One JSON object per connection (JSON Lines)."""
    return json.dumps(judgement.to_json(), separators=(",", ":"))
