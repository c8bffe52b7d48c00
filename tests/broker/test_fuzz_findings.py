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
