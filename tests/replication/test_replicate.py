"""`scifi replicate` between two broker processes, and between two tenants of one broker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA, BrokerProcess
from tests.replication.conftest import OUTSIDE, SPOTS, TYPES, Pilot, replicate_args, scifi


def objects(entity: dict[str, Any]) -> list[str]:
    """Every relationship object of an entity, sub-attributes included."""
    found: list[str] = []
    for name, attribute in entity.items():
        if not isinstance(attribute, dict):
            continue
        if attribute.get("type") == "Relationship":
            found.append(attribute["object"])
        if attribute.get("type") == "ListRelationship":
            found.extend(item["object"] for item in attribute["objectList"])
        found.extend(objects({key: value for key, value in attribute.items() if key != "value"}))
    return found


def test_clone_mechelen_to_delft(pilot: Pilot, tenant: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = scifi(capsys, *replicate_args(pilot, tenant, tmp_path / "state.json"), "--subscriptions")
    assert status == 0, err
    copy = pilot.entities(pilot.target, tenant)
    ids = {entity["id"] for entity in copy}
    assert len(copy) == SPOTS + 2
    assert all(":delft:" in entity_id for entity_id in ids)
    for entity in copy:
        for target in objects(entity):
            assert target in ids or target == OUTSIDE, (entity["id"], target)
    group = next(entity for entity in copy if entity["type"] == "ParkingGroup")
    assert len(group["refParkingSpot"]["objectList"]) == SPOTS
    spot = next(entity for entity in copy if entity["type"] == "ParkingSpot")
    assert spot["status"]["refParkingGroup"]["object"] == "urn:ngsi-ld:ParkingGroup:delft:level-1"
    assert f"created {SPOTS + 2}, updated 0, unchanged 0, failed 0" in out
    assert OUTSIDE in out, "the relationship pointing outside the copy is listed"
    assert "subscriptions: created 1" in out
    assert not (tmp_path / "state.json").exists(), "a complete copy leaves no state file"
    with pilot.client(pilot.target, tenant) as http:
        copied = http.get("/subscriptions/urn:ngsi-ld:Subscription:delft:full-parkings").json()
    assert copied["entities"] == [{"type": "OffStreetParking"}]
    assert copied["notification"]["endpoint"]["uri"] == "http://mechelen.example/parking-alerts"


def test_second_run_changes_nothing(pilot: Pilot, tenant: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    args = replicate_args(pilot, tenant, tmp_path / "state.json", "--subscriptions", "--json")
    assert scifi(capsys, *args)[0] == 0
    before = pilot.entities(pilot.target, tenant, options="sysAttrs")
    status, out, err = scifi(capsys, *args)
    assert status == 0, err
    summary = json.loads(out)
    assert (summary["created"], summary["updated"], summary["unchanged"]) == (0, 0, SPOTS + 2)
    assert summary["subscriptions"] == {"created": 0, "updated": 0, "unchanged": 1, "failed": 0}
    after = pilot.entities(pilot.target, tenant, options="sysAttrs")
    assert sorted(before, key=lambda e: e["id"]) == sorted(after, key=lambda e: e["id"]), "nothing was rewritten"


def test_a_changed_source_entity_is_updated(pilot: Pilot, tenant: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    args = replicate_args(pilot, tenant, tmp_path / "state.json", "--json")
    assert scifi(capsys, *args)[0] == 0
    with pilot.client(pilot.target, tenant) as http:
        answer = http.patch("/entities/urn:ngsi-ld:ParkingSpot:delft:spot-3/attrs",
                            json={"status": {"type": "Property", "value": "closed"}})
        assert answer.status_code == 204, answer.text
    status, out, _ = scifi(capsys, *args)
    summary = json.loads(out)
    assert (status, summary["created"], summary["updated"], summary["unchanged"]) == (0, 0, 1, SPOTS + 1)
    spot = pilot.entities(pilot.target, tenant, id="urn:ngsi-ld:ParkingSpot:delft:spot-3")[0]
    assert spot["status"]["value"] == "free", "the source's value is back"


def test_dry_run_prints_the_plan_and_writes_nothing(pilot: Pilot, tenant: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = scifi(capsys, *replicate_args(pilot, tenant, tmp_path / "state.json"), "--dry-run",
                             "--subscriptions")
    assert status == 0, err
    assert pilot.entities(pilot.target, tenant) == []
    with pilot.client(pilot.target, tenant) as http:
        assert http.get("/subscriptions").status_code == 404, "the tenant was not even created"
    assert f"ParkingSpot: {SPOTS} entities; would be created {SPOTS}" in out
    assert "id  urn:ngsi-ld:OffStreetParking:mechelen:centrum -> urn:ngsi-ld:OffStreetParking:delft:centrum" in out
    assert ("refParkingSite: urn:ngsi-ld:OffStreetParking:mechelen:centrum -> "
            "urn:ngsi-ld:OffStreetParking:delft:centrum") in out
    assert "dry run: nothing was written" in out
    assert not (tmp_path / "state.json").exists()


def test_two_tenants_of_one_broker(pilot: Pilot, tenant: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    args = ["replicate", "--from", pilot.source.url, "--from-tenant", pilot.tenant, "--to", pilot.source.url,
            "--to-tenant", tenant, "--types", TYPES, "--context", pilot.context, "--rewrite", "mechelen=delft",
            "--rewrite", "set:address.addressLocality=Delft", "--rewrite", "shift:location=-0.1183,0.9858",
            "--rewrite", "endpoint:http://mechelen.example/=>http://delft.example/", "--subscriptions",
            "--state", str(tmp_path / "state.json")]
    status, _, err = scifi(capsys, *args)
    assert status == 0, err
    copy = {entity["id"]: entity for entity in pilot.entities(pilot.source, tenant)}
    parking = copy["urn:ngsi-ld:OffStreetParking:delft:centrum"]
    assert parking["address"]["value"] == {"addressLocality": "Delft", "streetAddress": "Grote Markt 1"}
    assert parking["location"]["value"]["coordinates"] == pytest.approx([4.3594, 52.0117])
    assert len(copy) == SPOTS + 2
    assert len(pilot.entities(pilot.source, pilot.tenant)) == SPOTS + 2, "the source is left as it was"
    with pilot.client(pilot.source, tenant) as http:
        copied = http.get("/subscriptions/urn:ngsi-ld:Subscription:delft:full-parkings").json()
    assert copied["notification"]["endpoint"]["uri"] == "http://delft.example/parking-alerts"
    status, out, _ = scifi(capsys, *args, "--json")
    summary = json.loads(out)
    assert (status, summary["created"], summary["updated"], summary["unchanged"]) == (0, 0, 0, SPOTS + 2)


def test_unreachable_broker_is_one_line(pilot: Pilot, tenant: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    args = replicate_args(pilot, tenant, tmp_path / "state.json")
    args[args.index("--to") + 1] = "http://127.0.0.1:9"
    status, out, err = scifi(capsys, *args)
    assert status == 1
    assert err.count("\n") == 1 and "http://127.0.0.1:9" in err and "cannot be reached" in err
    assert "Traceback" not in err


def test_a_bad_url_is_one_line(pilot: Pilot, tenant: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    args = replicate_args(pilot, tenant, tmp_path / "state.json")
    args[args.index("--from") + 1] = "localhost:1026"
    status, _, err = scifi(capsys, *args)
    assert (status, err) == (2, "scifi replicate: localhost:1026: not the http:// or https:// URL of a broker\n")


@pytest.mark.parametrize(("rule", "message"), [
    ("mechelen", "not a rule"),
    ("id:([a-z=>\\1", "--rewrite"),
    ("shift:location=1", "DLON,DLAT"),
])
def test_a_bad_rule_is_one_line(pilot: Pilot, tenant: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                rule: str, message: str) -> None:
    status, _, err = scifi(capsys, *replicate_args(pilot, tenant, tmp_path / "state.json"), "--rewrite", rule)
    assert status == 2
    assert err.count("\n") == 1 and message in err
    assert pilot.entities(pilot.target, tenant) == []


def test_validate_skips_or_stops_on_entities_that_break_their_model(pilot: Pilot, tenant: str, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    tree = str(DATA / "smart-data-models")
    args = [*replicate_args(pilot, tenant, tmp_path / "state.json"), "--validate", "--sdm-dir", tree]
    status, _, err = scifi(capsys, *args)
    assert status == 2
    assert err.splitlines()[-1] == (
        "scifi replicate: urn:ngsi-ld:ParkingSpot:delft:spot-0 breaks its Smart Data Model: (entity) \"category\" "
        "is a required property (the copy stopped here; --on-invalid skip leaves such entities out)")
    status, out, _ = scifi(capsys, *args, "--on-invalid", "skip", "--json")
    summary = json.loads(out)
    assert status == 1
    assert summary["types"]["ParkingSpot"] == {"total": SPOTS, "created": 0, "updated": 0, "unchanged": 0,
                                               "failed": SPOTS}
    assert summary["failures"][0] == {"id": "urn:ngsi-ld:ParkingSpot:delft:spot-0", "reason": "breaks its Smart "
                                      "Data Model: (entity) \"category\" is a required property"}
    assert {entity["type"] for entity in pilot.entities(pilot.target, tenant)} <= {"OffStreetParking",
                                                                                     "ParkingGroup"}


def test_entities_the_target_refuses_fail_alone_with_its_reasons(pilot: Pilot, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A target that enforces the ParkingSpot model answers each batch 207: the spots fail with the broker's
    reason, the car park and the group are written."""
    env = {"SCIFI_SDM_DIR": str(DATA / "smart-data-models"), "SCIFI_SDM_POLICY": "enforce",
           "SCIFI_SDM_MODELS": "dataModel.Parking/ParkingSpot"}
    strict = BrokerProcess(tmp_path / "strict", env=env).start()
    try:
        args = replicate_args(pilot, "delft", tmp_path / "state.json", "--json")
        args[args.index("--to") + 1] = strict.url
        status, out, err = scifi(capsys, *args)
        summary = json.loads(out)
        assert status == 1
        assert (summary["created"], summary["failed"]) == (2, SPOTS)
        assert summary["failures"][0]["id"] == "urn:ngsi-ld:ParkingSpot:delft:spot-0"
        assert "category" in summary["failures"][0]["reason"]
        assert {entity["type"] for entity in pilot.entities(strict, "delft")} == {"OffStreetParking",
                                                                                  "ParkingGroup"}
        assert not (tmp_path / "state.json").exists(), "a run again retries the failed entities from the start"
    finally:
        strict.stop()


def test_only_what_q_selects_is_the_copy(pilot: Pilot, tenant: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Spots whose car park is not copied keep pointing at Mechelen's, and the summary lists it."""
    args = replicate_args(pilot, tenant, tmp_path / "state.json", "--json")
    args[args.index("--types") + 1] = "ParkingSpot"
    status, out, err = scifi(capsys, *args, "--q", 'status=="free"')
    assert status == 0, err
    summary = json.loads(out)
    copy = pilot.entities(pilot.target, tenant)
    assert len(copy) == summary["created"] == SPOTS // 2
    assert {spot["refParkingSite"]["object"] for spot in copy} == {"urn:ngsi-ld:OffStreetParking:mechelen:centrum"}
    assert {spot["status"]["refParkingGroup"]["object"] for spot in copy} == {
        "urn:ngsi-ld:ParkingGroup:mechelen:level-1"}
    assert {item["object"]: item["references"] for item in summary["outside"]} == {
        "urn:ngsi-ld:OffStreetParking:mechelen:centrum": SPOTS // 2,
        "urn:ngsi-ld:ParkingGroup:mechelen:level-1": SPOTS // 2}


def test_a_source_tenant_that_does_not_exist(pilot: Pilot, tenant: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    args = replicate_args(pilot, tenant, tmp_path / "state.json")
    args[args.index("--from-tenant") + 1] = "mechlen"
    status, _, err = scifi(capsys, *args)
    assert status == 1
    assert err.splitlines()[-1].startswith(f"scifi replicate: {pilot.source.url} (tenant mechlen): GET /entities "
                                           "answered 404: Nonexistent tenant")
