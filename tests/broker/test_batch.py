"""Batch entity operations (clauses 5.6.7-5.6.10, 5.6.20) and Purge Entities, through the HTTP API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.broker.entity_helpers import DEFAULT_CONTEXT, ERRORS, assert_problem, create, entity_path, unique_type
from tests.conftest import link, unique_id

CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"


@pytest.fixture
def tenant(client: httpx.Client) -> Iterator[httpx.Client]:
    """The client, in a tenant of its own (so that whole-tenant checks see only this test's entities)."""
    client.headers["NGSILD-Tenant"] = f"b{uuid.uuid4().hex[:12]}"
    yield client


def batch(client: httpx.Client, operation: str, body: Any, **kwargs: Any) -> httpx.Response:
    return client.post(f"/entityOperations/{operation}", json=body, **kwargs)


def stored(client: httpx.Client, entity_id: str) -> dict[str, Any] | None:
    answer = client.get(entity_path(entity_id), params={"options": "keyValues"})
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def errors_by_id(answer: httpx.Response) -> dict[str, str]:
    """The error type of each entity in a 207 BatchOperationResult."""
    assert answer.status_code == 207, answer.text
    result = answer.json()
    assert set(result) == {"success", "errors"}
    for error in result["errors"]:
        assert error["error"]["status"] >= 400 and error["error"]["title"]
    return {error["entityId"]: error["error"]["type"].removeprefix(ERRORS) for error in result["errors"]}


def car(entity_id: str, **attributes: Any) -> dict[str, Any]:
    return {"id": entity_id, "type": "Car", **attributes}


# --- create -----------------------------------------------------------------------------------------------

def test_create_answers_201_with_the_ids(client: httpx.Client) -> None:
    ids = [unique_id("Car") for _ in range(3)]
    answer = batch(client, "create", [car(entity_id, speed=index) for index, entity_id in enumerate(ids)])
    assert answer.status_code == 201, answer.text
    assert sorted(answer.json()) == sorted(ids)
    assert [stored(client, entity_id)["speed"] for entity_id in ids] == [0, 1, 2]  # type: ignore[index]


def test_create_with_bad_entities_writes_the_good_ones(client: httpx.Client) -> None:
    existing = create(client, car(unique_id("Car"), speed=1))
    good, bad_attribute, bad_id = unique_id("Car"), unique_id("Car"), "not a uri"
    answer = batch(client, "create", [
        car(good, speed=2),
        car(existing, speed=99),
        car(bad_attribute, speed=3, brokenAttr={"type": "Property"}),
        car(bad_id),
        {"id": unique_id("Car")},
    ])
    errors = errors_by_id(answer)
    assert answer.json()["success"] == [good]
    assert errors[existing] == "AlreadyExists"
    assert errors[bad_attribute] == "BadRequestData"
    assert errors[bad_id] == "BadRequestData"
    assert len(answer.json()["errors"]) == 4
    assert stored(client, good)["speed"] == 2  # type: ignore[index]
    assert stored(client, existing)["speed"] == 1  # type: ignore[index]
    assert stored(client, bad_attribute) is None


def test_create_the_same_id_twice_creates_it_once(client: httpx.Client) -> None:
    entity_id = unique_id("Car")
    answer = batch(client, "create", [car(entity_id, speed=1), car(entity_id, speed=2)])
    assert errors_by_id(answer) == {entity_id: "AlreadyExists"}
    assert answer.json()["success"] == [entity_id]
    assert stored(client, entity_id)["speed"] == 1  # type: ignore[index]


def test_create_as_json_ld_reads_each_entity_with_its_own_context(client: httpx.Client, context_server: Any) -> None:
    context_server.documents["/batch-a.jsonld"] = {"@context": {"speed": "https://a.example.org/speed"}}
    context_server.documents["/batch-b.jsonld"] = {"@context": {"speed": "https://b.example.org/speed"}}
    first, second, without = unique_id("Car"), unique_id("Car"), unique_id("Car")
    answer = batch(client, "create", [
        {**car(first, speed=1), "@context": context_server.url("/batch-a.jsonld")},
        {**car(second, speed=2), "@context": [context_server.url("/batch-b.jsonld"), CORE_CONTEXT]},
        car(without, speed=3),
    ], headers={"Content-Type": "application/ld+json"})
    assert errors_by_id(answer) == {without: "BadRequestData"}
    assert set(answer.json()["success"]) == {first, second}
    assert "https://a.example.org/speed" in stored(client, first)  # type: ignore[operator]
    assert "https://b.example.org/speed" in stored(client, second)  # type: ignore[operator]


def test_an_unavailable_context_fails_only_its_entity(client: httpx.Client, context_server: Any) -> None:
    good, lost = unique_id("Car"), unique_id("Car")
    answer = batch(client, "create", [
        {**car(good), "@context": CORE_CONTEXT},
        {**car(lost), "@context": context_server.url("/batch-missing.jsonld")},
    ], headers={"Content-Type": "application/ld+json"})
    assert errors_by_id(answer) == {lost: "LdContextNotAvailable"}
    assert stored(client, good) is not None


def test_create_in_a_new_tenant_creates_the_tenant(client: httpx.Client) -> None:
    tenant = {"NGSILD-Tenant": f"n{uuid.uuid4().hex[:12]}"}
    entity_id = unique_id("Car")
    assert batch(client, "create", [car(entity_id)], headers=tenant).status_code == 201
    assert client.get(entity_path(entity_id), headers=tenant).status_code == 200


# --- upsert -----------------------------------------------------------------------------------------------

def test_upsert_answers_201_with_the_created_ids_only(client: httpx.Client) -> None:
    existing = create(client, car(unique_id("Car"), speed=1, colour="red"))
    new = unique_id("Car")
    answer = batch(client, "upsert", [car(existing, speed=2), car(new, speed=3)])
    assert answer.status_code == 201, answer.text
    assert answer.json() == [new]
    replaced = stored(client, existing)
    assert replaced is not None and replaced["speed"] == 2 and "colour" not in replaced


def test_upsert_of_existing_entities_only_answers_204(client: httpx.Client) -> None:
    existing = create(client, car(unique_id("Car"), speed=1))
    answer = batch(client, "upsert", [car(existing, speed=5)])
    assert answer.status_code == 204, answer.text
    assert stored(client, existing)["speed"] == 5  # type: ignore[index]


def test_upsert_with_options_update_keeps_other_attributes(client: httpx.Client) -> None:
    existing = create(client, car(unique_id("Car"), speed=1, colour="red"))
    answer = batch(client, "upsert", [car(existing, speed=2, brand="Volvo")], params={"options": "update"})
    assert answer.status_code == 204, answer.text
    assert stored(client, existing) == {"id": existing, "type": "Car", "speed": 2, "colour": "red", "brand": "Volvo"}


def test_upsert_keeps_the_creation_time(client: httpx.Client) -> None:
    existing = create(client, car(unique_id("Car"), speed=1))
    before = client.get(entity_path(existing), params={"options": "sysAttrs"}).json()
    assert batch(client, "upsert", [car(existing, speed=2)]).status_code == 204
    after = client.get(entity_path(existing), params={"options": "sysAttrs"}).json()
    assert after["createdAt"] == before["createdAt"]
    assert after["modifiedAt"] > before["modifiedAt"]


def test_upsert_of_the_same_id_twice_applies_both_in_order(client: httpx.Client) -> None:
    replaced, updated = unique_id("Car"), unique_id("Car")
    assert batch(client, "upsert", [car(replaced, speed=1, colour="red"), car(replaced, speed=2)]).status_code == 201
    assert stored(client, replaced) == {"id": replaced, "type": "Car", "speed": 2}
    answer = batch(client, "upsert", [car(updated, speed=1), car(updated, colour="red")], params={"options": "update"})
    assert answer.json() == [updated]
    assert stored(client, updated) == {"id": updated, "type": "Car", "speed": 1, "colour": "red"}


def test_upsert_with_errors_lists_created_and_updated_as_success(client: httpx.Client) -> None:
    existing, new = create(client, car(unique_id("Car"))), unique_id("Car")
    answer = batch(client, "upsert", [car(existing, speed=1), car(new), car("nope")])
    assert errors_by_id(answer) == {"nope": "BadRequestData"}
    assert set(answer.json()["success"]) == {existing, new}


@pytest.mark.parametrize("options", ["replace,update", "noOverwrite", "keyValues"])
def test_upsert_with_bad_options_is_bad_request_data(client: httpx.Client, options: str) -> None:
    answer = batch(client, "upsert", [car(unique_id("Car"))], params={"options": options})
    assert_problem(answer, 400, "BadRequestData")


# --- update -----------------------------------------------------------------------------------------------

def test_update_appends_and_overwrites_attributes(client: httpx.Client) -> None:
    first = create(client, car(unique_id("Car"), speed=1, colour="red"))
    second = create(client, car(unique_id("Car"), speed=1))
    answer = batch(client, "update", [car(first, speed=2), car(second, brand="Volvo")])
    assert answer.status_code == 204, answer.text
    assert stored(client, first) == {"id": first, "type": "Car", "speed": 2, "colour": "red"}
    assert stored(client, second) == {"id": second, "type": "Car", "speed": 1, "brand": "Volvo"}


def test_update_with_no_overwrite_keeps_existing_attributes_and_says_which(client: httpx.Client) -> None:
    kept, added = create(client, car(unique_id("Car"), speed=1)), create(client, car(unique_id("Car")))
    body = [car(kept, speed=2, brand="Volvo"), car(added, brand="Fiat")]
    answer = batch(client, "update", body, params={"options": "noOverwrite"})
    assert answer.status_code == 207, answer.text
    assert answer.json()["success"] == [added]
    [error] = answer.json()["errors"]
    assert error["entityId"] == kept and error["error"]["type"] == ERRORS + "BadRequestData"
    assert [item["attributeName"] for item in error["error"]["notUpdated"]] == [DEFAULT_CONTEXT + "speed"]
    assert stored(client, kept) == {"id": kept, "type": "Car", "speed": 1, "brand": "Volvo"}
    assert stored(client, added) == {"id": added, "type": "Car", "brand": "Fiat"}


def test_update_with_no_overwrite_of_new_attributes_only_is_204(client: httpx.Client) -> None:
    entity_id = create(client, car(unique_id("Car"), speed=1))
    answer = batch(client, "update", [car(entity_id, brand="Volvo")], params={"options": "noOverwrite"})
    assert answer.status_code == 204, answer.text
    assert stored(client, entity_id) == {"id": entity_id, "type": "Car", "speed": 1, "brand": "Volvo"}


def test_update_of_missing_or_bad_entities_is_reported_per_entity(client: httpx.Client) -> None:
    existing, missing = create(client, car(unique_id("Car"), speed=1)), unique_id("Car")
    untyped = create(client, car(unique_id("Car")))
    answer = batch(client, "update", [
        car(existing, speed=2), car(missing, speed=3), {"id": untyped, "speed": 4},
        car(existing, wrong={"type": "Relationship", "object": "not a uri"}),
    ])
    assert errors_by_id(answer) == {missing: "ResourceNotFound", untyped: "BadRequestData", existing: "BadRequestData"}
    assert answer.json()["success"] == [existing]
    assert stored(client, missing) is None
    assert stored(client, existing) == {"id": existing, "type": "Car", "speed": 2}


def test_update_in_a_tenant_that_does_not_exist_is_nonexistent_tenant(client: httpx.Client) -> None:
    answer = batch(client, "update", [car(unique_id("Car"))], headers={"NGSILD-Tenant": f"x{uuid.uuid4().hex}"})
    assert_problem(answer, 404, "NonexistentTenant")


# --- merge ------------------------------------------------------------------------------------------------

def test_merge_patches_values_and_deletes_with_null(client: httpx.Client) -> None:
    entity_id = create(client, car(unique_id("Car"), speed=1, colour="red",
                                   address={"type": "Property", "value": {"city": "Mechelen", "zip": "2800"}}))
    answer = batch(client, "merge", [car(entity_id, colour="urn:ngsi-ld:null",
                                         address={"type": "Property", "value": {"zip": "2801"}})])
    assert answer.status_code == 204, answer.text
    assert stored(client, entity_id) == {
        "id": entity_id, "type": "Car", "speed": 1, "address": {"city": "Mechelen", "zip": "2801"},
    }


def test_merge_of_a_missing_entity_is_reported(client: httpx.Client) -> None:
    existing, missing = create(client, car(unique_id("Car"))), unique_id("Car")
    answer = batch(client, "merge", [car(existing, speed=7), car(missing, speed=7)])
    assert errors_by_id(answer) == {missing: "ResourceNotFound"}
    assert stored(client, existing)["speed"] == 7  # type: ignore[index]


# --- delete -----------------------------------------------------------------------------------------------

def test_delete_answers_204_when_every_entity_is_deleted(client: httpx.Client) -> None:
    ids = [create(client, car(unique_id("Car"))) for _ in range(3)]
    assert batch(client, "delete", ids).status_code == 204
    assert [stored(client, entity_id) for entity_id in ids] == [None, None, None]


def test_delete_reports_missing_and_invalid_ids(client: httpx.Client) -> None:
    existing, missing = create(client, car(unique_id("Car"))), unique_id("Car")
    answer = batch(client, "delete", [existing, missing, "not a uri", existing])
    assert errors_by_id(answer) == {missing: "ResourceNotFound", "not a uri": "BadRequestData",
                                    existing: "ResourceNotFound"}
    assert answer.json()["success"] == [existing]
    assert stored(client, existing) is None


# --- bodies -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("operation", ["create", "upsert", "update", "merge", "delete"])
@pytest.mark.parametrize("body", [{"id": "urn:x:1", "type": "Car"}, [], "urn:x:1", [["urn:x:1"]], [1]])
def test_a_body_that_is_not_an_array_of_entities_is_invalid_request(
    client: httpx.Client, operation: str, body: Any
) -> None:
    assert_problem(batch(client, operation, body), 400, "InvalidRequest")


def test_delete_takes_ids_not_entities(client: httpx.Client) -> None:
    assert_problem(batch(client, "delete", [car(unique_id("Car"))]), 400, "InvalidRequest")


def test_a_batch_above_the_maximum_size_is_payload_too_large(client: httpx.Client) -> None:
    answer = batch(client, "delete", [f"urn:x:{number}" for number in range(1001)])
    assert_problem(answer, 413, "PayloadTooLarge")
    assert batch(client, "create", [car(f"urn:x:{n}") for n in range(1001)]).status_code == 413


def test_json_ld_batches_take_no_link_header(client: httpx.Client) -> None:
    answer = batch(client, "create", [{**car(unique_id("Car")), "@context": CORE_CONTEXT}],
                   headers={"Content-Type": "application/ld+json", **link(CORE_CONTEXT)})
    assert_problem(answer, 400, "BadRequestData")


def test_batch_writes_are_seen_by_queries(client: httpx.Client) -> None:
    kind = unique_type()
    ids = [unique_id("Car") for _ in range(4)]
    body = [{"id": entity_id, "type": kind, "speed": number * 10} for number, entity_id in enumerate(ids)]
    assert batch(client, "upsert", body).status_code == 201
    assert batch(client, "update", [{"id": ids[0], "type": kind, "speed": 99}]).status_code == 204
    assert batch(client, "delete", [ids[3]]).status_code == 204
    found = client.get("/entities", params={"type": kind, "q": "speed>15"}).json()
    assert [entity["id"] for entity in found] == [ids[0], ids[2]]


# --- purge ------------------------------------------------------------------------------------------------

def test_purge_deletes_what_the_query_selects(tenant: httpx.Client) -> None:
    fast, slow, other = unique_id("Car"), unique_id("Car"), unique_id("Bike")
    assert batch(tenant, "create", [car(fast, speed=90), car(slow, speed=10),
                                    {"id": other, "type": "Bike", "speed": 90}]).status_code == 201
    answer = tenant.delete("/entities", params={"type": "Car", "q": "speed>50"})
    assert answer.status_code == 204, answer.text
    assert [stored(tenant, i) is None for i in (fast, slow, other)] == [True, False, False]
    assert tenant.delete("/entities", params={"type": "Car", "id": slow}).status_code == 204
    assert stored(tenant, slow) is None and stored(tenant, other) is not None


def test_purge_of_many_entities_deletes_them_all(tenant: httpx.Client) -> None:
    kind = unique_type()
    body = [{"id": f"urn:ngsi-ld:{kind}:{n}", "type": kind} for n in range(1200)]
    for start in range(0, len(body), 600):
        assert batch(tenant, "create", body[start:start + 600], timeout=120).status_code == 201
    # Large by design: SecantusDB matches a page's 500 ids against each candidate, so under load this takes seconds.
    assert tenant.delete("/entities", params={"type": kind}, timeout=120).status_code == 204
    left = tenant.get("/entities", params={"type": kind, "count": "true", "limit": 0})
    assert left.headers["NGSILD-Results-Count"] == "0"


def test_purge_needs_a_restriction(tenant: httpx.Client) -> None:
    entity_id = create(tenant, car(unique_id("Car")))
    assert_problem(tenant.delete("/entities"), 400, "BadRequestData")
    assert_problem(tenant.delete("/entities", params={"id": entity_id}), 400, "BadRequestData")
    assert_problem(tenant.delete("/entities", params={"type": "Car", "q": "speed>"}), 400, "BadRequestData")
    assert stored(tenant, entity_id) is not None


def test_purge_in_a_tenant_that_does_not_exist_is_nonexistent_tenant(client: httpx.Client) -> None:
    answer = client.delete("/entities", params={"type": "Car"}, headers={"NGSILD-Tenant": f"x{uuid.uuid4().hex}"})
    assert_problem(answer, 404, "NonexistentTenant")
