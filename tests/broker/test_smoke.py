from __future__ import annotations

import httpx

from tests.conftest import unique_id


def test_create_then_retrieve(client: httpx.Client) -> None:
    entity_id = unique_id("OffStreetParking")
    created = client.post("/entities", json={"id": entity_id, "type": "OffStreetParking", "totalSpotNumber": 200})
    assert created.status_code == 201, created.text
    got = client.get(f"/entities/{entity_id}", params={"options": "keyValues"})
    assert got.json() == {"id": entity_id, "type": "OffStreetParking", "totalSpotNumber": 200}
