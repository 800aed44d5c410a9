"""A message-sequence chart of one checked trace, as hand-written SVG.

Why not graphviz: a sequence chart is two lifelines and one arrow per message, a fixed layout
that needs no layout engine. Writing the SVG directly keeps it byte-identical on every machine
(no graphviz version in it) and lets it be drawn even where ``dot`` is missing.

Lanes: client on the left, server on the right; each arrow carries the message's index (as in
the oracle's ``at``), type and ordering attributes; the column on the right shows the states
the model may be in after it. The deviating message is red, with the legal alternatives and the
rule under it; messages after it are grey (the checker stops at the first deviation).
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from tlsmodel.diagrams.draw import DEVIATION_COLOUR
from tlsmodel.diagrams.overlay import Checked, wrap_words

_WIDTH = 980
_CLIENT_X = 110
_SERVER_X = 590
_STATE_X = 650
_TOP = 62
_GAP = 12
_FONT = 'font-family="Helvetica,Arial,sans-serif"'


def _attrs(message: dict) -> str:
    shown = [f"{k}={json.dumps(v)}" for k, v in message.items() if k not in ("from", "type")]
    return ", ".join(shown)


def _text(
    x: float,
    y: float,
    text: str,
    size: int = 12,
    colour: str = "#000000",
    anchor: str = "middle",
    weight: str = "normal",
) -> str:
    return (
        f'<text x="{x:g}" y="{y:g}" {_FONT} font-size="{size}" fill="{colour}" '
        f'text-anchor="{anchor}" font-weight="{weight}">{escape(text)}</text>'
    )


def _chunks(text: str, width: int) -> list[str]:
    """Attribute text broken at ", " so that it fits between the lanes."""
    lines: list[str] = []
    current = ""
    for part in text.split(", "):
        if current and len(current) + 2 + len(part) > width:
            lines.append(current + ",")
            current = part
        else:
            current = f"{current}, {part}" if current else part
    if current:
        lines.append(current)
    return lines


def sequence_chart(checked: Checked) -> str:
    """The SVG text of the chart (deterministic: no ids or dates beyond the trace's own)."""
    verdict = checked.verdict
    body: list[str] = []
    y = _TOP
    for step in checked.steps:
        message = step.message
        sender = str(message.get("from"))
        start, end = (_CLIENT_X, _SERVER_X) if sender == "client" else (_SERVER_X, _CLIENT_X)
        colour = {"deviation": DEVIATION_COLOUR, "unchecked": "#9a9a9a"}.get(step.answer, "#000000")
        mark = "× " if step.answer == "deviation" else ""
        extra = _chunks(_attrs(message), 70)
        y += 16 + 12 * len(extra)  # room for the label lines above the arrow
        label_y = y - 6 - 12 * len(extra)
        body.append(
            _text(
                (_CLIENT_X + _SERVER_X) / 2,
                label_y,
                f"{mark}#{step.index} {message.get('type')}",
                12,
                colour,
                weight="bold" if step.answer == "deviation" else "normal",
            )
        )
        for i, line in enumerate(extra):
            body.append(
                _text((_CLIENT_X + _SERVER_X) / 2, label_y + 12 * (i + 1), line, 10, colour)
            )
        tip = end - 9 if end > start else end + 9
        body.append(
            f'<line x1="{start}" y1="{y}" x2="{tip}" y2="{y}" stroke="{colour}" '
            f'stroke-width="{2 if mark else 1.3}"/>'
        )
        body.append(f'<polygon points="{end},{y} {tip},{y - 4} {tip},{y + 4}" fill="{colour}"/>')
        if step.answer == "deviation":
            notes = wrap_words(
                [
                    "legal here: " + ", ".join(f"{s} {m}" for s, m in verdict.expected),
                    verdict.rule or "",
                ],
                110,
            )
            for line in notes:
                y += 13
                body.append(_text(_CLIENT_X, y + 4, line, 10, DEVIATION_COLOUR, anchor="start"))
        elif step.states:
            body.append(
                _text(
                    _STATE_X, y + 4, "→ " + " | ".join(step.states), 10, "#555555", anchor="start"
                )
            )
        y += _GAP
    height = y + 20
    head = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}">',
        f'<rect x="0" y="0" width="{_WIDTH}" height="{height}" fill="white"/>',
        _text(_WIDTH / 2, 20, f"trace {checked.trace.id}: {verdict.verdict}", 14, weight="bold"),
    ]
    for x, name in ((_CLIENT_X, "client"), (_SERVER_X, "server")):
        head.append(
            f'<rect x="{x - 45}" y="30" width="90" height="24" rx="4" fill="#f2f2f2" '
            f'stroke="#000000"/>'
        )
        head.append(_text(x, 46, name, 12, weight="bold"))
        head.append(
            f'<line x1="{x}" y1="54" x2="{x}" y2="{height - 10}" stroke="#777777" '
            f'stroke-dasharray="4 3"/>'
        )
    head.append(_text(_STATE_X, 46, "model state after", 11, "#555555", anchor="start"))
    return "\n".join([*head, *body, "</svg>"]) + "\n"
