"""A broker that is wrong in known ways fails exactly the checks that cover those faults, and no other."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

from tests.conformance.conftest import FaultyBroker, run_conformance

FAULTS = {
    # Delete Entity answers 200, not 204
    "entities.delete.ok",
    # Create Entity answers without a Location header
    "entities.create.location",
    # options=keyValues is ignored
    "representations.keyvalues.retrieve", "representations.keyvalues.relationship", "representations.keyvalues.geo",
    "representations.keyvalues.query", "representations.geojson.keyvalues", "representations.lang.keyvalues",
    "query.keyvalues.values",
    # a subscription with a q never notifies
    "subscriptions.notify.q",
    # a 409 error body is not ProblemDetails
    "entities.create.duplicate", "subscriptions.create.duplicate",
}


def test_exactly_the_checks_of_the_faults_fail(faulty_broker: FaultyBroker, tmp_path: Path) -> None:
    junit, html = tmp_path / "report.xml", tmp_path / "report.html"
    run = run_conformance(faulty_broker.url, tmp_path, "--mim1", "--junit", str(junit), "--html", str(html))
    assert run.status == 1
    assert run.outcomes("failed") == FAULTS
    failed_cases = {case.get("name") for case in ElementTree.parse(junit).getroot().iter("testcase")
                    if case.find("failure") is not None}
    assert failed_cases == FAULTS
    page = html.read_text()
    assert f"differs from NGSI-LD in {len(FAULTS)} of the checks" in page
    assert page.count("<span class='badge f'>failed</span>") == len(FAULTS)


def test_a_failure_says_what_was_sent_what_came_back_and_what_is_required(faulty_broker: FaultyBroker,
                                                                         tmp_path: Path) -> None:
    run = run_conformance(faulty_broker.url, tmp_path, "--mim1", "--only", "entities")
    location = next(r for r in run.report["mim1"]["results"] if r["id"] == "entities.create.location")
    assert location["clause"] == "5.6.1"
    assert "Location" in location["requirement"]
    request, response = location["exchanges"][-1]["request"], location["exchanges"][-1]["response"]
    assert request["method"] == "POST" and request["url"].endswith("/ngsi-ld/v1/entities")
    assert '"type"' in request["body"]
    assert response["status"] == 201 and "location" not in {name.lower() for name in response["headers"]}
    duplicate = next(r for r in run.report["mim1"]["results"] if r["id"] == "entities.create.duplicate")
    assert duplicate["exchanges"][-1]["response"]["body"] == "Conflict"
    assert "Content-Type" in duplicate["observed"] or "text/plain" in duplicate["observed"]
