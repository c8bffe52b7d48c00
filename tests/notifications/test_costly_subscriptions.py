"""A subscription's regular expressions run by RE2 in the matcher: a catastrophic pattern on a long id and
value notifies the right entity at once, and the notifier goes on."""

from __future__ import annotations

import httpx

from tests.broker.entity_helpers import unique_type
from tests.notifications.conftest import ReceiverProcess, subscribe, unique_path

LONG = 1500


def test_a_catastrophic_pattern_in_a_subscription_notifies_at_once(client: httpx.Client,
                                                                   receiver: ReceiverProcess) -> None:
    kind, path = unique_type(), unique_path()
    subscribe(client, receiver.url(path), entities=[{"type": kind, "idPattern": ":(a+)+b$"}],
              q="name~=^(a|aa)+b$")
    plain, ending_b, both = (f"urn:ngsi-ld:{kind}:{'a' * LONG}", f"urn:ngsi-ld:{kind}:{'a' * LONG}b",
                             f"urn:ngsi-ld:{kind}:{'a' * (LONG - 1)}b")
    for entity_id, name in ((plain, "a" * LONG + "b"), (ending_b, "a" * LONG), (both, "a" * LONG + "b")):
        created = client.post("/entities", json={"id": entity_id, "type": kind, "name": name})
        assert created.status_code == 201, created.text
    received = receiver.wait_for_entities(path, 1, timeout=10)
    assert [entity["id"] for item in received for entity in item["body"]["data"]] == [both]
