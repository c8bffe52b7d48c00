"""Tenant isolation as a property (clause 5.5.10): random writes under two tenants, the same entity ids and types
in both (creates, appends, deletes, batch upserts and deletes, purges, subscriptions), then neither tenant sees
the other's data through retrieval, queries, type and attribute listings, subscription listings or
notifications. Every value carries its tenant's name, so that a value that crossed shows where it came from."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.notifications.conftest import ReceiverProcess, wait_until

TYPES = ("Sensor", "Meter")
ATTRIBUTES = ("temperature", "humidity", "speed", "colour")
ENTITIES = 4
"""Entity numbers 0..3; number n has type TYPES[n % 2] in both tenants."""

attributes = st.dictionaries(st.sampled_from(ATTRIBUTES), st.integers(0, 99), min_size=1, max_size=3)
numbers = st.integers(0, ENTITIES - 1)
tenant = st.integers(0, 1)
operations = st.one_of(
    st.tuples(st.just("create"), tenant, numbers, attributes),
    st.tuples(st.just("append"), tenant, numbers, attributes),
    st.tuples(st.just("delete"), tenant, numbers),
    st.tuples(st.just("upsert"), tenant, st.dictionaries(numbers, attributes, min_size=1, max_size=3)),
    st.tuples(st.just("batch_delete"), tenant, st.sets(numbers, min_size=1, max_size=3)),
    st.tuples(st.just("purge"), tenant, st.sampled_from(TYPES)),
    st.tuples(st.just("subscribe"), tenant, st.sampled_from(TYPES)),
    st.tuples(st.just("unsubscribe"), tenant, st.integers(0, 3)),
)


@dataclass
class Tenant:
    """A tenant of one example, and what it must hold: its entities (number -> attribute values) and its
    subscriptions (id -> watched type, notification path)."""

    name: str
    entities: dict[int, dict[str, str]] = field(default_factory=dict)
    subscriptions: dict[str, tuple[str, str]] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    """Notification paths of every subscription the tenant had (deleted ones too)."""

    @property
    def headers(self) -> dict[str, str]:
        return {"NGSILD-Tenant": self.name}

    def tagged(self, values: dict[str, int]) -> dict[str, str]:
        return {name: f"{self.name}:{value}" for name, value in values.items()}


@dataclass
class Example:
    run: str
    tenants: tuple[Tenant, Tenant]
    receiver: ReceiverProcess

    def entity_id(self, number: int) -> str:
        return f"urn:ngsi-ld:Thing:{self.run}-{number}"

    def entity(self, tenant: Tenant, number: int, values: dict[str, str]) -> dict[str, Any]:
        return {"id": self.entity_id(number), "type": TYPES[number % 2],
                **{name: {"type": "Property", "value": value} for name, value in values.items()}}


@pytest.fixture(scope="module")
def receiver() -> Iterator[ReceiverProcess]:
    process = ReceiverProcess().start()
    yield process
    process.stop()


def apply(client: httpx.Client, example: Example, operation: tuple[Any, ...]) -> None:
    """Runs one operation in its tenant, checks its status against the model, and updates the model."""
    kind, which, *arguments = operation
    tenant = example.tenants[which]
    headers = tenant.headers
    if kind == "create":
        number, values = arguments[0], tenant.tagged(arguments[1])
        answer = client.post("/entities", json=example.entity(tenant, number, values), headers=headers)
        assert answer.status_code == (409 if number in tenant.entities else 201), answer.text
        tenant.entities.setdefault(number, values)
    elif kind == "append":
        number, values = arguments[0], tenant.tagged(arguments[1])
        body = {name: {"type": "Property", "value": value} for name, value in values.items()}
        answer = client.post(f"/entities/{example.entity_id(number)}/attrs", json=body, headers=headers)
        assert answer.status_code == (204 if number in tenant.entities else 404), answer.text
        if number in tenant.entities:
            tenant.entities[number].update(values)
    elif kind == "delete":
        answer = client.delete(f"/entities/{example.entity_id(arguments[0])}", headers=headers)
        assert answer.status_code == (204 if tenant.entities.pop(arguments[0], None) is not None else 404)
    elif kind == "upsert":
        batch = {number: tenant.tagged(values) for number, values in arguments[0].items()}
        body = [example.entity(tenant, number, values) for number, values in batch.items()]
        answer = client.post("/entityOperations/upsert", json=body, headers=headers)
        assert answer.status_code == (204 if batch.keys() <= tenant.entities.keys() else 201), answer.text
        tenant.entities.update(batch)
    elif kind == "batch_delete":
        ids = [example.entity_id(number) for number in sorted(arguments[0])]
        answer = client.post("/entityOperations/delete", json=ids, headers=headers)
        assert answer.status_code == (204 if arguments[0] <= tenant.entities.keys() else 207), answer.text
        for number in arguments[0]:
            tenant.entities.pop(number, None)
    elif kind == "purge":
        answer = client.delete("/entities", params={"type": arguments[0]}, headers=headers)
        assert answer.status_code == 204, answer.text
        for number in [number for number in tenant.entities if TYPES[number % 2] == arguments[0]]:
            del tenant.entities[number]
    elif kind == "subscribe":
        subscribe(client, example, tenant, arguments[0])
    else:
        unsubscribe(client, tenant, arguments[0])


def subscribe(client: httpx.Client, example: Example, tenant: Tenant, entity_type: str) -> None:
    path = f"/{example.run}/{tenant.name}/{len(tenant.paths)}"
    subscription = {"type": "Subscription", "entities": [{"type": entity_type}],
                    "notification": {"format": "keyValues",
                                     "endpoint": {"uri": example.receiver.url(path), "accept": "application/json"}}}
    answer = client.post("/subscriptions", json=subscription, headers=tenant.headers)
    assert answer.status_code == 201, answer.text
    tenant.subscriptions[answer.headers["location"].rsplit("/", 1)[1]] = (entity_type, path)
    tenant.paths.append(path)


def unsubscribe(client: httpx.Client, tenant: Tenant, index: int) -> None:
    if not tenant.subscriptions:
        return
    subscription = sorted(tenant.subscriptions)[index % len(tenant.subscriptions)]
    assert client.delete(f"/subscriptions/{subscription}", headers=tenant.headers).status_code == 204
    del tenant.subscriptions[subscription]


def check_reads(client: httpx.Client, example: Example, tenant: Tenant) -> None:
    """What the tenant reads is what its model holds, and nothing of the other tenant's."""
    headers = tenant.headers
    expected = {example.entity_id(number): values for number, values in tenant.entities.items()}
    for number in range(ENTITIES):
        answer = client.get(f"/entities/{example.entity_id(number)}", params={"options": "keyValues"},
                            headers=headers)
        if number in tenant.entities:
            assert answer.status_code == 200 and _values(answer.json()) == tenant.entities[number]
        else:
            assert answer.status_code == 404, answer.text
    found = client.get("/entities", params={"type": ",".join(TYPES), "options": "keyValues", "limit": 100},
                       headers=headers).json()
    assert {entity["id"]: _values(entity) for entity in found if entity["id"] != _anchor(example)} == expected
    query = {"type": "Query", "entities": [{"type": entity_type} for entity_type in TYPES]}
    found = client.post("/entityOperations/query", json=query, params={"options": "keyValues", "limit": 100},
                        headers=headers).json()
    assert {entity["id"]: _values(entity) for entity in found if entity["id"] != _anchor(example)} == expected
    types = client.get("/types", headers=headers).json()["typeList"]
    assert set(types) == {"Anchor", *(TYPES[number % 2] for number in tenant.entities)}
    names = client.get("/attributes", headers=headers).json()["attributeList"]
    assert set(names) == {"mark", *(name for values in tenant.entities.values() for name in values)}
    listed = client.get("/subscriptions", params={"limit": 100}, headers=headers).json()
    assert {subscription["id"] for subscription in listed} == set(tenant.subscriptions)


def check_notifications(client: httpx.Client, example: Example, tenant: Tenant) -> None:
    """Each live subscription gets the sentinels of its type, written last in its tenant; everything any of the
    tenant's subscriptions got (before the sentinels: notifications keep the order of changes) is its own."""
    sentinels = {entity_type: f"urn:ngsi-ld:Thing:{example.run}-end-{entity_type}" for entity_type in TYPES}
    for entity_type, entity_id in sentinels.items():
        sentinel = {"id": entity_id, "type": entity_type, "mark": {"type": "Property", "value": f"{tenant.name}:end"}}
        assert client.post("/entities", json=sentinel, headers=tenant.headers).status_code == 201
    for entity_type, path in tenant.subscriptions.values():
        wait_until(lambda: any(entity["id"] == sentinels[entity_type] for item in example.receiver.received(path)
                               for entity in item["body"]["data"]), timeout=30)
    for path in tenant.paths:
        for item in example.receiver.received(path, failed=True):
            for entity in item["body"]["data"]:
                assert all(value.startswith(f"{tenant.name}:") for value in _values(entity).values()), entity


def _values(entity: dict[str, Any]) -> dict[str, str]:
    return {name: value for name, value in entity.items() if name not in ("id", "type", "@context")}


def _anchor(example: Example) -> str:
    return f"urn:ngsi-ld:Anchor:{example.run}"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(operations, min_size=1, max_size=12))
def test_no_operation_crosses_tenants(client: httpx.Client, receiver: ReceiverProcess,
                                      steps: list[tuple[Any, ...]]) -> None:
    run = uuid4().hex[:10]
    example = Example(run, (Tenant(f"iso{run}a"), Tenant(f"iso{run}b")), receiver)
    for tenant in example.tenants:  # each tenant exists from the start (reads of it are never 404)
        anchor = {"id": _anchor(example), "type": "Anchor", "mark": {"type": "Property", "value": f"{tenant.name}:0"}}
        assert client.post("/entities", json=anchor, headers=tenant.headers).status_code == 201
        for entity_type in TYPES:  # and watches each type, besides the subscriptions the steps make
            subscribe(client, example, tenant, entity_type)
    for step in steps:
        apply(client, example, step)
    for tenant in example.tenants:
        check_reads(client, example, tenant)
    for tenant in example.tenants:
        check_notifications(client, example, tenant)
