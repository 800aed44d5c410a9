"""The rules the tables read differently, as the tables read them (findings D1-D3).

Why this module exists: the equivalence check stops at the shortest difference, so one open
finding hides every later one. ``AS_TABLES_READ`` is the rule set with the disputed rules
replaced by the tables' current reading, so the check can go on and show that *everything else*
agrees (for all lengths, see ``declarative.prove_equivalence``). ``rules.RULES`` stays as the
RFC says; this is an investigation aid, not a second opinion. The findings, with RFC quotes and
proposed row fixes, are in /work/team/model-requests.md; drop an entry here once the lead has
decided it (fixed tables: delete it; RFC reading wrong: fix the rule in ``rules``).
"""

from __future__ import annotations

from typing import Final

import z3
from tlsmodel.model.alphabet import CLIENT, SENDERS
from tlsmodel.proofs.encoding import TYPE_INDEX
from tlsmodel.proofs.positions import NO_TYPE, Positions
from tlsmodel.proofs.rules import RULES, Rule


def _last_non_alert_is_ccs(p: Positions, i: int, sender: str) -> z3.BoolRef:
    """The last message of ``sender`` before i that is not an alert is its ChangeCipherSpec."""
    kind = p.last(
        f"non-alert type {sender}",
        i,
        lambda j: z3.And(p.by(j, sender), z3.Not(p.is_(j, "Alert"))),
        lambda j: p.symbols[j].type,
        z3.BitVecVal(NO_TYPE, 4),
    )
    return kind == TYPE_INDEX["ChangeCipherSpec"]


def _ccs_then_finished(p: Positions, i: int) -> z3.BoolRef:
    """D2 as the tables read it: any alert may come between a CCS and its Finished."""
    return z3.And(
        [
            z3.Implies(
                z3.And(p.by(i, s), _last_non_alert_is_ccs(p, i, s)),
                z3.Or(p.is_(i, "Finished", s), p.is_(i, "Alert", s)),
            )
            for s in SENDERS
        ]
    )


def _finished_after_ccs(p: Positions, i: int) -> z3.BoolRef:
    """D2 again: a Finished whose sender's last non-alert message was its CCS."""
    return z3.And(
        [z3.Implies(p.is_(i, "Finished", s), _last_non_alert_is_ccs(p, i, s)) for s in SENDERS]
    )


def _fixed_dh_certificate(p: Positions, i: int) -> z3.BoolRef:
    """D3 as the tables read it: fixed_dh on an empty certificate is not checked."""
    premise = z3.And(
        p.is_(i, "Certificate", CLIENT),
        p.attr(i, "Certificate", "fixed_dh", True),
        p.attr(i, "Certificate", "empty", False),
    )
    return z3.Implies(premise, p.current_family(i, "fixed_dh", True))


# Rule name -> (finding, the tables' reading, or None where the tables have no such rule).
DISPUTED: Final = {
    "close-notify-answered": ("D1", None),
    "change-cipher-spec-then-finished": ("D2", _ccs_then_finished),
    "finished-after-change-cipher-spec": ("D2", _finished_after_ccs),
    "fixed-dh-certificate": ("D3", _fixed_dh_certificate),
}

AS_TABLES_READ: Final[tuple[Rule, ...]] = tuple(
    rule
    if rule.name not in DISPUTED
    else Rule(
        f"{rule.name} (as the tables read it, {DISPUTED[rule.name][0]})",
        rule.rfc,
        rule.quote,
        DISPUTED[rule.name][1],
    )
    for rule in RULES
    if rule.name not in DISPUTED or DISPUTED[rule.name][1] is not None
)
