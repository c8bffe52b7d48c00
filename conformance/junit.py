"""The JUnit XML report, for CI pipelines: a testsuite per MIM1 area and one for the MIM2 types."""

from __future__ import annotations

from xml.etree import ElementTree

from conformance.registry import AREAS
from conformance.report import Report
from conformance.runner import FAILED, NOT_OFFERED

__all__ = ["junit_report"]


def junit_report(report: Report) -> bytes:
    suites = ElementTree.Element("testsuites", name="scifi conformance", time=f"{report.seconds:.2f}")
    for area, results in report.by_area().items():
        suite = ElementTree.SubElement(suites, "testsuite", name=f"MIM1 {AREAS[area]}", tests=str(len(results)),
                                       failures=str(sum(r.outcome == FAILED for r in results)),
                                       skipped=str(sum(r.outcome == NOT_OFFERED for r in results)),
                                       time=f"{sum(r.seconds for r in results):.3f}", timestamp=report.started)
        for result in results:
            case = ElementTree.SubElement(suite, "testcase", classname=f"mim1.{area}", name=result.check.id,
                                          time=f"{result.seconds:.3f}")
            ElementTree.SubElement(case, "properties").append(
                ElementTree.Element("property", name="clause", value=result.check.clause))
            if result.outcome == FAILED:
                failure = ElementTree.SubElement(case, "failure", message=f"{result.requirement}: {result.observed}",
                                                 type=result.check.clause)
                failure.text = "\n\n".join(exchange.text() for exchange in result.exchanges)
            elif result.outcome == NOT_OFFERED:
                ElementTree.SubElement(case, "skipped", message=f"not offered: {result.observed}")
    if report.mim2 is not None:
        models = report.mim2.models
        suite = ElementTree.SubElement(suites, "testsuite", name="MIM2 Smart Data Models", tests=str(len(models)),
                                       failures=str(sum(r.compliant < r.checked for r in models)))
        for model in models:
            case = ElementTree.SubElement(suite, "testcase", classname="mim2", name=model.type)
            if model.compliant < model.checked:
                failure = ElementTree.SubElement(case, "failure", message=f"{model.checked - model.compliant} of "
                                                 f"{model.checked} entities do not follow {model.model}")
                failure.text = "\n".join(f"{count} x {text}" for text, count in model.violations.most_common(10))
        if report.mim2.error:
            case = ElementTree.SubElement(suite, "testcase", classname="mim2", name="paging")
            ElementTree.SubElement(case, "error", message=report.mim2.error)
    ElementTree.indent(suites)
    text: bytes = ElementTree.tostring(suites, encoding="utf-8", xml_declaration=True)
    return text
