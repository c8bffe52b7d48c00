"""MIM2 on entities seeded from the Smart Data Models examples, some made invalid on purpose."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

import conformance.mim2
from tests.conformance.conftest import API, run_conformance
from tests.conftest import DATA, BrokerProcess

TREE = DATA / "smart-data-models"


def _example(model: str) -> dict[str, Any]:
    entity = json.loads((TREE / model / "examples" / "example-normalized.jsonld").read_text())
    entity.pop("@context")
    return dict(entity)


def _seeded() -> list[dict[str, Any]]:
    """5 valid and 2 invalid ParkingSpots, 3 valid OffStreetParkings, the AirQualityObserved example (invalid as
    published: windDirection 186 > 180, a time without zone, a decimal tsp) and 2 entities of a type that is no
    Smart Data Model."""
    spot, parking = _example("dataModel.Parking/ParkingSpot"), _example("dataModel.Parking/OffStreetParking")
    entities = [{**copy.deepcopy(spot), "id": f"urn:ngsi-ld:ParkingSpot:valid-{n}"} for n in range(5)]
    for n in range(2):
        invalid = {**copy.deepcopy(spot), "id": f"urn:ngsi-ld:ParkingSpot:invalid-{n}"}
        invalid["status"]["value"] = "flying"
        entities.append(invalid)
    entities += [{**copy.deepcopy(parking), "id": f"urn:ngsi-ld:OffStreetParking:valid-{n}"} for n in range(3)]
    entities.append(_example("dataModel.Environment/AirQualityObserved"))
    entities += [{"id": f"urn:ngsi-ld:CityThing:{n}", "type": "CityThing", "size": {"type": "Property", "value": n}}
                 for n in range(2)]
    return entities


@pytest.fixture(scope="module")
def seeded(our_broker: BrokerProcess) -> Iterator[BrokerProcess]:
    for entity in _seeded():
        assert httpx.post(our_broker.url + API + "/entities", json=entity).status_code == 201
    yield our_broker


def _types(run_report: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {entry["type"]: (entry["checked"], entry["compliant"]) for entry in run_report["mim2"]["types"]}


def test_counts_per_type(seeded: BrokerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conformance.mim2, "PAGE", 2)  # several pages per type
    run = run_conformance(seeded.url, tmp_path, "--mim2", "--sdm-dir", str(TREE))
    assert run.status == 1
    assert _types(run.report) == {"ParkingSpot": (7, 5), "OffStreetParking": (3, 3), "AirQualityObserved": (1, 0)}
    assert run.report["mim2"]["notSmartDataModels"] == [{"type": "CityThing", "entities": 2}]
    assert (run.report["mim2"]["checked"], run.report["mim2"]["compliant"]) == (11, 8)
    spot = next(entry for entry in run.report["mim2"]["types"] if entry["type"] == "ParkingSpot")
    assert sorted(e["id"] for e in spot["noncompliantEntities"]) == ["urn:ngsi-ld:ParkingSpot:invalid-0",
                                                                     "urn:ngsi-ld:ParkingSpot:invalid-1"]
    assert spot["frequentViolations"][0]["entities"] == 2
    assert "flying" in spot["frequentViolations"][0]["violation"]
    air = next(entry for entry in run.report["mim2"]["types"] if entry["type"] == "AirQualityObserved")
    assert any(v["pointer"] == "/windDirection" for v in air["noncompliantEntities"][0]["violations"])


def test_types_limits_the_check_and_valid_data_passes(seeded: BrokerProcess, tmp_path: Path) -> None:
    run = run_conformance(seeded.url, tmp_path, "--mim2", "--sdm-dir", str(TREE), "--types", "OffStreetParking")
    assert run.status == 0
    assert _types(run.report) == {"OffStreetParking": (3, 3)}


def test_mim2_without_models_is_a_usage_error(seeded: BrokerProcess, tmp_path: Path) -> None:
    assert run_conformance(seeded.url, tmp_path, "--mim2", "--sdm-dir", str(tmp_path)).status == 2


def test_reports_parse_and_hold_both_mims(seeded: BrokerProcess, tmp_path: Path) -> None:
    junit, html = tmp_path / "report.xml", tmp_path / "report.html"
    run = run_conformance(seeded.url, tmp_path, "--sdm-dir", str(TREE), "--only", "tenancy", "--junit", str(junit),
                          "--html", str(html))
    assert run.status == 1  # the data is not all compliant
    assert run.report["mim1"]["failed"] == 0 and run.report["mim1"]["passed"] == 8
    suites = ElementTree.parse(junit).getroot()
    names = [suite.get("name") for suite in suites]
    assert names == ["MIM1 Tenancy", "MIM2 Smart Data Models"]
    assert [case.get("name") for case in suites[0]] == [r["id"] for r in run.report["mim1"]["results"]]
    assert suites[1].get("failures") == "2"
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert not any(asset in page for asset in ("<script", "<link", "src=", "url("))  # self-contained
    assert "The API follows NGSI-LD" in page
    assert "3 of 11 entities do not follow their Smart Data Model" in page
    assert "<svg" in page and "ParkingSpot" in page and "CityThing (2)" in page
    assert "tenancy.nonexistent" in page


def test_entities_written_with_the_models_context_are_read_back_as_iris_and_checked(our_broker: BrokerProcess,
                                                                                  tmp_path: Path) -> None:
    subject_context = json.loads((TREE / "dataModel.Parking" / "context.jsonld").read_text())["@context"]
    core = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
    for n in range(2):
        entity = {**_example("dataModel.Parking/ParkingAccess"), "id": f"urn:ngsi-ld:ParkingAccess:iri-{n}",
                  "@context": [subject_context, core]}
        reply = httpx.post(our_broker.url + API + "/entities", json=entity,
                           headers={"Content-Type": "application/ld+json"})
        assert reply.status_code == 201, reply.text
    iri = "https://smartdatamodels.org/dataModel.Parking/ParkingAccess"
    run = run_conformance(our_broker.url, tmp_path, "--mim2", "--sdm-dir", str(TREE), "--types", iri)
    for n in range(2):  # the other tests see the seeded data only
        assert httpx.delete(f"{our_broker.url}{API}/entities/urn:ngsi-ld:ParkingAccess:iri-{n}").status_code == 204
    assert run.status == 0
    assert [(t["type"], t["model"], t["checked"], t["compliant"]) for t in run.report["mim2"]["types"]] == [
        (iri, "dataModel.Parking/ParkingAccess", 2, 2)]


def test_distinct_violations_beyond_the_cap_are_counted_together(seeded: BrokerProcess, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conformance.mim2, "DISTINCT_VIOLATIONS", 1)
    run = run_conformance(seeded.url, tmp_path, "--mim2", "--sdm-dir", str(TREE), "--types", "AirQualityObserved")
    violations = run.report["mim2"]["types"][0]["frequentViolations"]
    assert sorted((v["violation"].split(":")[0], v["entities"]) for v in violations) == [
        ("(other violations)", 1), ("/dateObserved", 1)]
    assert len(run.report["mim2"]["types"][0]["noncompliantEntities"][0]["violations"]) == 3
