"""JUnit XML for CI systems: one testcase per connection, failures for deviations.

Why JUnit: every CI system renders it; tlsfuzzer and TLS-Anvil users ask for exactly this,
together with a list of known failures that should not break the build.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from tlsmodel.oracle.judge import Judgement, human


def write_junit(path: str, judgements: Iterable[Judgement], known: set[str], strict: bool) -> None:
    """Write the report; known failures become skipped tests with the deviation as message."""
    cases = list(judgements)
    suite = ET.Element("testsuite", name="tlsmodel oracle", tests=str(len(cases)))
    failures = skipped = 0
    for judgement in cases:
        case = ET.SubElement(
            suite, "testcase", classname=judgement.source.rsplit(":", 1)[0], name=judgement.id
        )
        detail = human(judgement)
        expected = judgement.id in known or judgement.kind in known
        if judgement.verdict == "deviates" and not expected:
            failures += 1
            first = judgement.result.rule if judgement.result else judgement.verdict
            ET.SubElement(case, "failure", message=str(first), type="deviation").text = detail
        elif judgement.verdict == "deviates" or (
            judgement.verdict in ("incomplete", "unsupported") and not strict
        ):
            skipped += 1
            reason = "expected failure" if judgement.verdict == "deviates" else judgement.verdict
            ET.SubElement(case, "skipped", message=reason).text = detail
        elif judgement.verdict != "conforms":
            failures += 1
            ET.SubElement(
                case, "failure", message=judgement.verdict, type=judgement.verdict
            ).text = detail
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    suite.set("errors", "0")
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
