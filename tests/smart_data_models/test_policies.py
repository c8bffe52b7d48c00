"""The validation policies through the HTTP API of a real broker: off, warn and enforce, per tenant and per
type, on every kind of write, batches included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ngsi_ld.context import CORE_CONTEXT_URL
from tests.broker.entity_helpers import assert_problem, entity_path
from tests.conftest import API, CONTEXT_REL, DATA, BrokerProcess, link, unique_id

PARKING_CONTEXT = "https://smart-data-models.github.io/dataModel.Parking/context.jsonld"
CONFIG = """
[smart_data_models]
dir = "{tree}"
policy = "off"
models = ["dataModel.Parking/OffStreetParking", "dataModel.Parking/ParkingSpot"]

[smart_data_models.tenants.enforcing]
policy = "enforce"
types = {{ParkingSpot = "warn"}}

[smart_data_models.tenants.warning]
policy = "warn"
"""


@pytest.fixture(scope="module")
def validating_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    directory = tmp_path_factory.mktemp("validating")
    config = directory / "scifi.toml"
    config.write_text(CONFIG.format(tree=DATA / "smart-data-models"))
    process = BrokerProcess(directory / "data", env={"SCIFI_SDM_CONFIG": str(config)}).start()
    yield process
    process.stop()


def tenant_client(broker: BrokerProcess, tenant: str | None) -> httpx.Client:
    headers = {**link(PARKING_CONTEXT), **({"NGSILD-Tenant": tenant} if tenant else {})}
    return httpx.Client(base_url=broker.url + API, headers=headers, timeout=10)


@pytest.fixture
def enforcing(validating_broker: BrokerProcess) -> Iterator[httpx.Client]:
    with tenant_client(validating_broker, "enforcing") as client:
        yield client


@pytest.fixture
def warning(validating_broker: BrokerProcess) -> Iterator[httpx.Client]:
    with tenant_client(validating_broker, "warning") as client:
        yield client


@pytest.fixture
def unchecked(validating_broker: BrokerProcess) -> Iterator[httpx.Client]:
    with tenant_client(validating_broker, None) as client:
        yield client


def parking(spots: Any = 10, **attributes: Any) -> dict[str, Any]:
    entity = {"id": unique_id("OffStreetParking"), "type": "OffStreetParking",
              "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [4.47, 51.02]}},
              "availableSpotNumber": {"type": "Property", "value": spots}}
    entity.update({name: {"type": "Property", "value": value} for name, value in attributes.items()})
    return entity


def pointers(problem: dict[str, Any]) -> list[str]:
    return [violation["pointer"] for violation in problem["violations"]]


def test_enforce_rejects_an_invalid_entity_listing_each_violation(enforcing: httpx.Client) -> None:
    entity = parking(-1, dateModified="2020-01-01")
    problem = assert_problem(enforcing.post("/entities", json=entity), 400, "BadRequestData")
    assert pointers(problem) == ["/availableSpotNumber", "/dateModified"]
    assert problem["model"] == "dataModel.Parking/OffStreetParking"
    assert "minimum of 0" in problem["violations"][0]["message"] and "date-time" in problem["detail"]
    assert enforcing.get(entity_path(entity["id"])).status_code == 404


def test_enforce_stores_a_valid_entity(enforcing: httpx.Client) -> None:
    entity = parking(5, dateModified="2020-01-01T10:00:00Z")
    answer = enforcing.post("/entities", json=entity)
    assert answer.status_code == 201, answer.text
    assert "warning" not in answer.headers


def test_enforce_checks_the_entity_as_it_will_be_after_each_kind_of_write(enforcing: httpx.Client) -> None:
    entity = parking(5)
    assert enforcing.post("/entities", json=entity).status_code == 201
    path = entity_path(entity["id"])
    bad = {"availableSpotNumber": {"type": "Property", "value": -3}}
    for method, url, body in [("POST", f"{path}/attrs", bad), ("PATCH", f"{path}/attrs", bad), ("PATCH", path, bad),
                              ("PATCH", f"{path}/attrs/availableSpotNumber", bad["availableSpotNumber"]),
                              ("PUT", path, {"type": "OffStreetParking", **bad})]:
        problem = assert_problem(enforcing.request(method, url, json=body), 400, "BadRequestData")
        assert pointers(problem)[0] in ("/availableSpotNumber", ""), (method, url, problem)
    stored = enforcing.get(path, params={"options": "keyValues"}).json()
    assert stored["availableSpotNumber"] == 5
    assert enforcing.patch(f"{path}/attrs", json={"availableSpotNumber": {"type": "Property", "value": 7}}
                           ).status_code == 204


def test_enforce_checks_every_instance_of_a_multi_instance_attribute(enforcing: httpx.Client) -> None:
    entity = parking(5)
    entity["availableSpotNumber"] = [{"type": "Property", "value": 5},
                                     {"type": "Property", "value": -1, "datasetId": "urn:ngsi-ld:Dataset:counter"}]
    problem = assert_problem(enforcing.post("/entities", json=entity), 400, "BadRequestData")
    assert problem["violations"] == [{"pointer": "/availableSpotNumber", "message": "-1 is less than the minimum of "
                                      "0 (in the instance of datasetId urn:ngsi-ld:Dataset:counter)"}]
    entity["availableSpotNumber"][1]["value"] = 3
    assert enforcing.post("/entities", json=entity).status_code == 201


def test_a_type_may_have_its_own_policy(enforcing: httpx.Client) -> None:
    spot = {"id": unique_id("ParkingSpot"), "type": "ParkingSpot", "status": {"type": "Property", "value": "blue"},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [4.47, 51.02]}}}
    answer = enforcing.post("/entities", json=spot)
    assert answer.status_code == 201, answer.text
    assert "/status" in answer.headers["warning"] and "dataModel.Parking/ParkingSpot" in answer.headers["warning"]


def test_warn_stores_and_says_why(warning: httpx.Client, validating_broker: BrokerProcess) -> None:
    entity = parking(-1)
    answer = warning.post("/entities", json=entity)
    assert answer.status_code == 201, answer.text
    assert answer.headers["warning"].startswith('199 scifi "Entity ' + entity["id"])
    assert "/availableSpotNumber: -1 is less than the minimum of 0" in answer.headers["warning"]
    assert warning.get(entity_path(entity["id"]), params={"options": "keyValues"}).json()["availableSpotNumber"] == -1
    counts = httpx.get(validating_broker.url + "/health").json()["modelViolations"]
    assert any(c["tenant"] == "warning" and c["policy"] == "warn" and c["entities"] >= 1 for c in counts)


def test_off_stores_without_checking(unchecked: httpx.Client) -> None:
    answer = unchecked.post("/entities", json=parking(-1))
    assert answer.status_code == 201 and "warning" not in answer.headers


def test_types_outside_the_models_are_not_checked(enforcing: httpx.Client) -> None:
    other = {"id": unique_id("Bench"), "type": "Bench", "seats": {"type": "Property", "value": -1}}
    assert enforcing.post("/entities", json=other).status_code == 201


CORE_LINK = {"Link": f"<{CORE_CONTEXT_URL}>; {CONTEXT_REL}"}


@pytest.mark.parametrize("headers", [{"Link": ""}, CORE_LINK])
def test_a_model_type_sent_without_the_model_context_is_rejected_under_enforce(enforcing: httpx.Client,
                                                                               headers: dict[str, str]) -> None:
    """With the core @context only, OffStreetParking expands to the default context's IRI, not the model's:
    the entity would escape its checks, so enforce rejects it and says why, valid or not."""
    entity = parking(5)
    problem = assert_problem(enforcing.post("/entities", json=entity, headers=headers), 400, "BadRequestData")
    assert problem["model"] == "dataModel.Parking/OffStreetParking" and pointers(problem) == ["/type"]
    assert ("expanded to https://uri.etsi.org/ngsi-ld/default-context/OffStreetParking" in problem["detail"]
            and "https://smartdatamodels.org/dataModel.Parking/OffStreetParking" in problem["detail"]
            and f"<{PARKING_CONTEXT}>" in problem["detail"])
    assert enforcing.get(entity_path(entity["id"]), headers=headers).status_code == 404
    batch = enforcing.post("/entityOperations/create", json=[parking(4)], headers=headers)
    assert batch.status_code == 207 and pointers(batch.json()["errors"][0]["error"]) == ["/type"], batch.text


def test_a_model_type_sent_without_the_model_context_warns_under_warn(warning: httpx.Client) -> None:
    answer = warning.post("/entities", json=parking(5), headers=CORE_LINK)
    assert answer.status_code == 201, answer.text
    assert "/type: the type OffStreetParking was expanded to" in answer.headers["warning"]


def test_batches_report_violations_per_entity(enforcing: httpx.Client) -> None:
    good, bad = parking(3), parking(-2)
    answer = enforcing.post("/entityOperations/create", json=[good, bad])
    assert answer.status_code == 207, answer.text
    result = answer.json()
    assert result["success"] == [good["id"]]
    [error] = result["errors"]
    assert error["entityId"] == bad["id"] and pointers(error["error"]) == ["/availableSpotNumber"]
    upsert = enforcing.post("/entityOperations/upsert", json=[parking(4, dateModified="today"), good])
    assert upsert.status_code == 207 and len(upsert.json()["errors"]) == 1


def test_batches_under_warn_carry_a_warning_per_entity(warning: httpx.Client) -> None:
    answer = warning.post("/entityOperations/upsert", json=[parking(-1), parking(2), parking(-3)])
    assert answer.status_code == 201, answer.text
    assert len(answer.headers.get_list("warning")) == 2


def test_a_wrong_configuration_stops_the_broker(tmp_path: Path) -> None:
    config = tmp_path / "scifi.toml"
    config.write_text('[smart_data_models]\npolicy = "strict"\n')
    with pytest.raises(RuntimeError):
        BrokerProcess(tmp_path / "data", env={"SCIFI_SDM_CONFIG": str(config)}).start()
    missing = {"SCIFI_SDM_DIR": str(tmp_path), "SCIFI_SDM_MODELS": "dataModel.Parking/OffStreetParking",
               "SCIFI_SDM_POLICY": "warn"}
    with pytest.raises(RuntimeError):
        BrokerProcess(tmp_path / "data2", env=missing).start()
