"""DOT text for a ``View``: one function, no graphviz dependency, byte-stable output.

Why written by hand: the DOT is committed under diagrams/ and diffed in review, so its order
and spelling must not depend on a library's version. Nodes come in table order, edges in the
sorted order ``views`` gives them, every node and edge has an explicit ``id`` (so the SVG ids are
stable too), and nothing depends on time or on the machine that drew it.

Visual encoding (the legend box repeats it): colour = row kind (handshake black, abbreviated
handshake blue, renegotiation green, anytime grey); dashed = optional message; double border =
final state; in a role view ``send X`` edges are bold and ``recv X`` edges thin. A trace overlay
adds step numbers on the path, the legal alternatives in orange and the deviation in red.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tlsmodel.diagrams.views import Edge, Guard, Note, View
from tlsmodel.model.tables import Atom, State, Value

KIND_COLOURS: dict[str, str] = {
    "handshake": "#000000",
    "resumption": "#1f5fbf",
    "renegotiation": "#1a8a3a",
    "anytime": "#777777",
}
PATH_COLOUR = "#7b2fbf"
ALTERNATIVE_COLOUR = "#e07b00"
DEVIATION_COLOUR = "#d62728"
_WRAP = 44


@dataclass(frozen=True, slots=True)
class Overlay:
    """A trace drawn on a view: step numbers per edge, legal alternatives, the red deviation."""

    steps: dict[tuple, tuple[int, ...]] = field(default_factory=dict)
    alternatives: frozenset[tuple] = frozenset()
    deviations: tuple[Edge, ...] = ()  # red edges, possibly to a node of their own
    extra_nodes: tuple[tuple[str, str], ...] = ()  # (node id, label) of deviation targets
    caption: str = ""


def edge_key(edge: Edge) -> tuple:
    """The identity of a drawn edge, shared by views, overlays and tests."""
    return (edge.source, edge.target, edge.sender, edge.message, edge.kind, edge.optional)


def value_text(value: Value) -> str:
    """``true``/``false``/``none`` for the guard values, names as they are."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def atom_text(atom: Atom) -> str:
    """``msg.resumed = false``, ``fam.ske ∈ {required, optional}``."""
    path, allowed = atom
    if len(allowed) == 1:
        return f"{path} = {value_text(allowed[0])}"
    return f"{path} ∈ {{{', '.join(value_text(v) for v in allowed)}}}"


def _wrap(items: list[str], first: str = "", joiner: str = " ∧", width: int = _WRAP) -> list[str]:
    """Items joined (the joiner ends a line) so that no line grows past ``width`` characters."""
    lines: list[str] = []
    line = first
    for i, text in enumerate(items):
        piece = text + (joiner if i < len(items) - 1 else "")
        if line.strip() and len(line) + len(piece) + 1 > width:
            lines.append(line.rstrip())
            line = "  " + piece
        else:
            sep = " " if line.strip() and not line.endswith("(") else ""
            line = line + sep + piece
    if line.strip():
        lines.append(line.rstrip())
    return lines


def guard_lines(alternatives: tuple[Guard, ...]) -> list[str]:
    """A disjunction of conjunctions as short lines, with the atoms all branches share first."""
    if not alternatives:
        return []
    shared = [a for a in alternatives[0] if all(a in alt for alt in alternatives[1:])]
    if len(alternatives) == 1:
        return _wrap([atom_text(a) for a in shared])
    lines = _wrap([atom_text(a) for a in shared]) if shared else []
    if lines:
        lines[-1] += " ∧"
    for i, alt in enumerate(alternatives):
        rest = [atom_text(a) for a in alt if a not in shared] or ["true"]
        lines += _wrap(rest, first="(" if i == 0 else "∨")
    if shared:
        lines[-1] += ")"
    elif lines[0].startswith("("):
        lines[0] = lines[0][1:]
    return lines


def message_text(senders: str | tuple[str, ...], message: str, role: str) -> str:
    """``client: X`` in the composite view, ``send X`` / ``recv X`` in a role view."""
    names = (senders,) if isinstance(senders, str) else senders
    if role == "composite":
        return f"{', '.join(names)}: {message}"
    return f"{'send' if names[0] == role else 'recv'} {message}"


def effects_text(effects: tuple[tuple[str, Value], ...]) -> str:
    """``fam := msg.family, reneg := true``."""
    return ", ".join(f"{name} := {value_text(value)}" for name, value in effects)


def _q(text: str) -> str:
    """A DOT double-quoted string (``\\n`` in ``text`` stays a DOT line break)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attrs(pairs: dict[str, str]) -> str:
    return "[" + ", ".join(f"{k}={v}" for k, v in pairs.items()) + "]"


def edge_id(edge: Edge, senders: tuple[str, ...] = ()) -> str:
    """A stable SVG id: source, sender(s), message, kind and target spelled out."""
    opt = "-optional" if edge.optional else ""
    who = "+".join(senders or (edge.sender,))
    return f"{edge.source}--{who}-{edge.message}-{edge.kind}{opt}--{edge.target}"


def _bundles(edges: tuple[Edge, ...], role: str) -> list[list[Edge]]:
    """The self-loops of one state become one drawn edge (dot stacks loop labels on top of each
    other); in the composite view so do edges that differ only in their sender."""
    bundles: dict[tuple, list[Edge]] = {}
    for edge in edges:
        bundles.setdefault(_bundle_key(edge, role, edge.source == edge.target), []).append(edge)
    return list(bundles.values())


def _bundle_key(edge: Edge, role: str, loop: bool) -> tuple:
    if loop:
        return (edge.source, edge.target)
    if role == "composite":
        return (
            edge.source,
            edge.target,
            edge.message,
            edge.kind,
            edge.optional,
            edge.alternatives,
            edge.only_families,
        )
    return edge_key(edge)


def _entry_lines(edges: list[Edge], role: str, overlay: Overlay | None) -> tuple[list[str], str]:
    """The label lines of edges that differ only in sender, and their colour."""
    edge = edges[0]
    senders = tuple(e.sender for e in edges)
    lines = [message_text(senders, edge.message, role)]
    lines += guard_lines(edge.alternatives)
    if edge.only_families:
        lines += _wrap(list(edge.only_families), first="only", joiner=",")
    colour = KIND_COLOURS[edge.kind]
    if overlay is not None:
        steps = sorted({n for e in edges for n in overlay.steps.get(edge_key(e), ())})
        if steps:
            lines[0] = "#" + ",".join(map(str, steps)) + " " + lines[0]
            colour = PATH_COLOUR
        elif any(edge_key(e) in overlay.alternatives for e in edges):
            lines[0] += " (legal here)"
            colour = ALTERNATIVE_COLOUR
    return lines, colour


def _edge_line(
    bundle: list[Edge], role: str, overlay: Overlay | None, colour: str | None = None
) -> str:
    """One drawn edge for a bundle; several entries get an HTML label, one line colour each."""
    first = bundle[0]
    groups: dict[tuple, list[Edge]] = {}
    for edge in bundle:
        key = (edge.message, edge.kind, edge.optional, edge.alternatives, edge.only_families)
        groups.setdefault(key if role == "composite" else edge_key(edge), []).append(edge)
    entries = [_entry_lines(edges, role, overlay) for edges in groups.values()]
    if colour is not None:
        entries = [(lines, colour) for lines, _ in entries]
    tooltip = list(dict.fromkeys(r for e in bundle for r in e.rfc))
    effects = tuple(dict.fromkeys(x for e in bundle for x in e.effects))
    if effects:
        tooltip.append("effects: " + effects_text(effects))
    loop = first.source == first.target
    if len(entries) == 1 and not loop:
        lines, line_colour = entries[0]
        label = _q("\n".join(f" {line} " for line in lines))  # a space clear of the edge
        ident = edge_id(first, tuple(e.sender for e in bundle))
    else:
        head = [[f"stays {first.source} on:"]] if loop else []
        cells = "".join(
            f'<TR><TD ALIGN="LEFT"><FONT COLOR="{c}">{_html(text)}</FONT></TD></TR>'
            for lines, c in [(h, "#000000") for h in head] + entries
            for text in lines
        )
        label = f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0">{cells}</TABLE>>'
        ident = f"{first.source}--bundle--{first.target}"
        colours = {c for _, c in entries}
        line_colour = (
            colours.pop()
            if len(colours) == 1
            else (PATH_COLOUR if PATH_COLOUR in colours else "#555555")
        )
    attrs = {
        "id": _q(ident),
        "label": label,
        "color": _q(line_colour),
        "fontcolor": _q(line_colour),
        "tooltip": _q("\n".join(tooltip)),
        "labeltooltip": _q("\n".join(tooltip)),
    }
    if line_colour in (PATH_COLOUR, DEVIATION_COLOUR):
        attrs["penwidth"] = "3"
    elif line_colour == ALTERNATIVE_COLOUR:
        attrs["penwidth"] = "2.5"
    elif role != "composite" and all(e.sender == role for e in bundle):
        attrs["penwidth"] = "1.8"
    if all(e.optional for e in bundle):
        attrs["style"] = "dashed"
    if not loop:
        return f"  {_q(first.source)} -> {_q(first.target)} {_attrs(attrs)};"
    # dot stacks self-loop labels over the edges around them; a box node beside the state is
    # routed around instead, so the messages that keep the state are listed there.
    box = f"loop-{first.source}"
    node = {
        "id": _q(box),
        "shape": "box",
        "style": '"rounded,dashed"',
        "fontsize": "9",
        "label": attrs.pop("label"),
        "color": attrs["color"],
        "tooltip": attrs["tooltip"],
    }
    attrs.pop("labeltooltip")
    attrs.pop("fontcolor")
    attrs.update({"id": _q(f"{first.source}--loop"), "arrowhead": "none", "style": "dashed"})
    return f"  {_q(box)} {_attrs(node)};\n  {_q(first.source)} -> {_q(box)} {_attrs(attrs)};"


def _note_text(note: Note, senders: tuple[str, ...], role: str) -> str:
    text = message_text(senders, note.message, role)
    if note.guard:
        text += " [" + " ∧ ".join(atom_text(a) for a in note.guard) + "]"
    if note.target is not None:
        text += f" → {note.target}"
    if note.effects:
        text += f" ⇒ {effects_text(note.effects)}"
    return text + ": in every state" + (", except" if note.skipped else "")


def _legend(view: View, role: str) -> str:
    """One HTML-label note node: the encoding, the common guards, the anytime rules."""
    black, grey = KIND_COLOURS["handshake"], KIND_COLOURS["anytime"]
    rows: list[list[tuple[str, str]]] = [
        [(black, "colour: ")]
        + [(c, f"{k}  ") for k, c in KIND_COLOURS.items() if k != "anytime"]
        + [(grey, "anytime")],
        [(black, "solid: required, dashed: optional (the sender may leave it out)")],
        [(black, f"double border: final state ({', '.join(sorted(view.final))})")],
    ]
    rows += [
        [(black, f"every {sender} message also needs {' ∧ '.join(map(atom_text, atoms))}")]
        for sender, atoms in view.common
        if atoms
    ]
    if view.notes:
        rows.append([(grey, "anytime rows, drawn as edges only at final states:")])
    merged: dict[tuple, list[Note]] = {}
    for note in view.notes:  # in the composite view, one line for both senders where it can
        key = (note.message, note.guard, note.target, note.effects, note.skipped)
        merged.setdefault(key if role == "composite" else (note,), []).append(note)
    for same in merged.values():
        note = same[0]
        senders = tuple(n.sender for n in same)
        parts = _wrap(
            list(note.skipped), first=_note_text(note, senders, role), joiner=",", width=100
        )
        rows += [[(grey, ("    " if i else "• ") + part.strip())] for i, part in enumerate(parts)]
    cells = "".join(
        '<TR><TD ALIGN="LEFT">'
        + "".join(f'<FONT COLOR="{c}">{_html(t)}</FONT>' for c, t in row)
        + "</TD></TR>"
        for row in rows
    )
    label = f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0">{cells}</TABLE>>'
    tooltip = _q("\n".join(dict.fromkeys(note.rfc for note in view.notes)))
    return f'  "legend" [id="legend", shape=note, fontsize=9, tooltip={tooltip}, label={label}];'


def to_dot(
    view: View, states: dict[str, State], role: str = "composite", overlay: Overlay | None = None
) -> str:
    """The DOT text of ``view`` in ``role``'s perspective, optionally with a trace overlay."""
    title = view.title + ("" if overlay is None or not overlay.caption else "\n" + overlay.caption)
    out = [
        "digraph tlsmodel {",
        f"  graph [label={_q(title)}, labelloc=t, fontname=Helvetica, fontsize=14, "
        "rankdir=TB, nodesep=0.5, ranksep=0.45, newrank=true];",
        "  node [shape=box, style=rounded, fontname=Helvetica, fontsize=11, height=0.35];",
        "  edge [fontname=Helvetica, fontsize=9, arrowsize=0.7];",
    ]
    for name in view.nodes:
        state = states[name]
        attrs = {"id": _q("state-" + name), "tooltip": _q(f"{state.meaning}\n{state.rule}")}
        if name in view.final:
            attrs["peripheries"] = "2"
        out.append(f"  {_q(name)} {_attrs(attrs)};")
    for node_id, label in overlay.extra_nodes if overlay else ():
        attrs = {
            "id": _q(node_id),
            "label": _q(label),
            "shape": "octagon",
            "color": _q(DEVIATION_COLOUR),
            "fontcolor": _q(DEVIATION_COLOUR),
        }
        out.append(f"  {_q(node_id)} {_attrs(attrs)};")
    out.append(_legend(view, role))
    out.extend(_edge_line(bundle, role, overlay) for bundle in _bundles(view.edges, role))
    for edge in overlay.deviations if overlay else ():
        out.append(_edge_line([edge], role, None, DEVIATION_COLOUR))
    out.append("}")
    return "\n".join(out) + "\n"
