"""A Mechelen parking pilot on a source broker, an empty target broker, and helpers to run the commands."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from broker.cli import main
from tests.conftest import API, DATA, BrokerProcess, ContextServer, link

CONTEXT_PATH = "/dataModel.Parking/context.jsonld"
SPOTS = 12
"""ParkingSpots of the pilot (three pages at --batch-size 5)."""
OUTSIDE = "urn:ngsi-ld:Device:mechelen:counter-1"
"""An entity the pilot's relationships name that is not copied."""


def parking_pilot(city: str, spots: int = SPOTS) -> list[dict[str, Any]]:
    """An OffStreetParking, its ParkingSpots (refParkingSite), and a ParkingGroup listing them
    (ListRelationship); relationships also sit in sub-attributes, and one points outside the pilot."""
    site = f"urn:ngsi-ld:OffStreetParking:{city}:centrum"
    group = f"urn:ngsi-ld:ParkingGroup:{city}:level-1"
    spot_ids = [f"urn:ngsi-ld:ParkingSpot:{city}:spot-{number}" for number in range(spots)]
    parking = {
        "id": site, "type": "OffStreetParking",
        "name": {"type": "Property", "value": "Parking Centrum"},
        "address": {"type": "Property",
                    "value": {"addressLocality": city.capitalize(), "streetAddress": "Grote Markt 1"}},
        "totalSpotNumber": {"type": "Property", "value": spots},
        "availableSpotNumber": {"type": "Property", "value": 7, "observedAt": "2026-11-30T08:00:00Z",
                                "providedBy": {"type": "Relationship", "object": OUTSIDE}},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [4.4777, 51.0259]}},
    }
    spot_entities = [{
        "id": spot_id, "type": "ParkingSpot",
        "status": {"type": "Property", "value": "free" if number % 2 else "occupied",
                   "refParkingGroup": {"type": "Relationship", "object": group}},
        "refParkingSite": {"type": "Relationship", "object": site},
        "location": {"type": "GeoProperty",
                     "value": {"type": "Point", "coordinates": [4.4777 + number / 10000, 51.0259]}},
    } for number, spot_id in enumerate(spot_ids)]
    group_entity = {
        "id": group, "type": "ParkingGroup",
        "name": {"type": "Property", "value": "Level 1"},
        "refParkingSite": {"type": "Relationship", "object": site},
        "refParkingSpot": {"type": "ListRelationship", "objectList": [{"object": spot_id} for spot_id in spot_ids]},
    }
    return [parking, *spot_entities, group_entity]


TYPES = "OffStreetParking,ParkingSpot,ParkingGroup"


def subscription(city: str) -> dict[str, Any]:
    return {"id": f"urn:ngsi-ld:Subscription:{city}:full-parkings", "type": "Subscription",
            "entities": [{"type": "OffStreetParking"}], "q": "availableSpotNumber<3",
            "notification": {"format": "keyValues",
                             "endpoint": {"uri": f"http://{city}.example/parking-alerts"}}}


@dataclass
class Pilot:
    """The source broker holding the Mechelen pilot in tenant `tenant`, the target broker, and the @context."""

    source: BrokerProcess
    target: BrokerProcess
    context: str
    tenant: str = "mechelen"

    def client(self, broker: BrokerProcess, tenant: str) -> httpx.Client:
        headers = {"NGSILD-Tenant": tenant, **link(self.context)}
        return httpx.Client(base_url=broker.url + API, headers=headers, timeout=10)

    def entities(self, broker: BrokerProcess, tenant: str, **params: Any) -> list[dict[str, Any]]:
        """Every entity of the pilot's types in the tenant."""
        with self.client(broker, tenant) as http:
            answer = http.get("/entities", params={"type": TYPES, "limit": 1000, **params})
            if answer.status_code == 404:
                return []
            answer.raise_for_status()
            found: list[dict[str, Any]] = answer.json()
            return found


_tenants = itertools.count(1)


@pytest.fixture
def tenant() -> str:
    """A target tenant no other test writes to."""
    return f"delft{next(_tenants)}"


@pytest.fixture(scope="module")
def pilot(tmp_path_factory: pytest.TempPathFactory, context_server: ContextServer) -> Iterator[Pilot]:
    context_server.documents[CONTEXT_PATH] = (DATA / "smart-data-models" / CONTEXT_PATH.lstrip("/")).read_bytes()
    source = BrokerProcess(tmp_path_factory.mktemp("source")).start()
    target = BrokerProcess(tmp_path_factory.mktemp("target")).start()
    found = Pilot(source, target, context_server.url(CONTEXT_PATH))
    try:
        with found.client(source, found.tenant) as http:
            answer = http.post("/entityOperations/upsert", json=parking_pilot("mechelen"))
            assert answer.status_code == 201, answer.text
            answer = http.post("/subscriptions", json=subscription("mechelen"))
            assert answer.status_code == 201, answer.text
        yield found
    finally:
        source.stop()
        target.stop()


def scifi(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Runs `scifi` in this process: exit status, stdout, stderr."""
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def replicate_args(pilot: Pilot, tenant: str, state: Path, *extra: str) -> list[str]:
    return ["replicate", "--from", pilot.source.url, "--from-tenant", pilot.tenant, "--to", pilot.target.url,
            "--to-tenant", tenant, "--types", TYPES, "--context", pilot.context, "--rewrite", "mechelen=delft",
            "--batch-size", "5", "--state", str(state), *extra]
