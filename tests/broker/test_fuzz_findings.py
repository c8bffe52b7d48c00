"""What the fuzz tests (tests/fuzz) found, each fixed in the broker: one regression test per finding."""

from __future__ import annotations

import httpx

from tests.broker.entity_helpers import assert_problem
from tests.conftest import unique_id

LD = {"Content-Type": "application/ld+json"}


def test_an_at_context_that_is_no_http_url_is_bad_request_data(client: httpx.Client) -> None:
    """Nothing can be fetched from "" or "urn:x": the request is wrong (400), no gateway failed (504)."""
    for context in ("", "urn:x:context", "ftp://example.org/context.jsonld"):
        entity = {"id": unique_id(), "type": "T", "@context": context}
        response = client.post("/entities", json=entity, headers=LD)
        assert_problem(response, 400, "BadRequestData")
        subscription = {"type": "Subscription", "entities": [{"type": "T"}], "@context": context,
                        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/"}}}
        assert_problem(client.post("/subscriptions", json=subscription, headers=LD), 400, "BadRequestData")


def test_local_is_true_or_false_on_every_operation(client: httpx.Client) -> None:
    """Every operation takes `local` (clause 6.3.18); those that ignore it still refuse a value it cannot have."""
    batch = [{"id": unique_id(), "type": "T"}]
    for method, path, body in (("POST", "/entityOperations/create", batch), ("POST", "/entityOperations/delete",
                                                                             [unique_id()]),
                               ("GET", "/subscriptions", None), ("GET", "/entities/urn:x:1", None)):
        response = client.request(method, path, params={"local": "2"}, json=body)
        assert_problem(response, 400, "BadRequestData")
    assert client.post("/entityOperations/create", params={"local": "true"}, json=batch).status_code == 201


def test_a_batch_in_an_invalid_tenant_is_refused_whole(client: httpx.Client) -> None:
    """A tenant name that is not valid is a 400 for the request, even when every entity of it is wrong too (it was
    a 207 whose entities each failed on their own)."""
    tenant = {"NGSILD-Tenant": "?not(valid)"}
    for operation, body in (("create", [{"id": "not a uri"}]), ("upsert", [{"type": 3}]), ("update", [{}]),
                            ("merge", [{"id": 1}]), ("delete", ["not a uri"])):
        response = client.post(f"/entityOperations/{operation}", json=body, headers=tenant)
        assert_problem(response, 400, "BadRequestData")
