"""`scifi pilot diff`: no difference after a copy; a planted difference is reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.replication.conftest import SPOTS, TYPES, Pilot, replicate_args, scifi


def diff_args(pilot: Pilot, tenant: str, *extra: str) -> list[str]:
    return ["pilot", "diff", "--from", pilot.source.url, "--from-tenant", pilot.tenant, "--to", pilot.target.url,
            "--to-tenant", tenant, "--types", TYPES, "--context", pilot.context, "--rewrite", "mechelen=delft",
            "--batch-size", "5", *extra]


def test_no_difference_after_a_copy(pilot: Pilot, tenant: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert scifi(capsys, *replicate_args(pilot, tenant, tmp_path / "state.json"))[0] == 0
    status, out, err = scifi(capsys, *diff_args(pilot, tenant))
    assert status == 0, err
    assert f"ParkingSpot: {SPOTS} in the source, {SPOTS} in the target; missing 0, extra 0, differing 0" in out
    assert out.endswith("no difference\n")


def test_a_planted_difference_is_reported(pilot: Pilot, tenant: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert scifi(capsys, *replicate_args(pilot, tenant, tmp_path / "state.json"))[0] == 0
    with pilot.client(pilot.target, tenant) as http:
        assert http.patch("/entities/urn:ngsi-ld:OffStreetParking:delft:centrum/attrs",
                          json={"totalSpotNumber": {"type": "Property", "value": 99}}).status_code == 204
        assert http.delete("/entities/urn:ngsi-ld:ParkingSpot:delft:spot-4").status_code == 204
        extra = {"id": "urn:ngsi-ld:ParkingSpot:delft:extra", "type": "ParkingSpot",
                 "status": {"type": "Property", "value": "free"}}
        assert http.post("/entities", json=extra).status_code == 201
    status, out, _ = scifi(capsys, *diff_args(pilot, tenant))
    assert status == 1
    assert "differs                urn:ngsi-ld:OffStreetParking:delft:centrum: totalSpotNumber" in out
    assert "missing in the target  urn:ngsi-ld:ParkingSpot:delft:spot-4" in out
    assert "only in the target     urn:ngsi-ld:ParkingSpot:delft:extra" in out
    assert out.endswith("differences found\n")
    status, out, _ = scifi(capsys, *diff_args(pilot, tenant, "--json"))
    report = json.loads(out)
    assert status == 1 and report["same"] is False
    assert report["types"]["ParkingSpot"]["counts"] == {"missing": 1, "extra": 1, "differing": 0}
    assert report["types"]["OffStreetParking"]["differing"] == [
        {"id": "urn:ngsi-ld:OffStreetParking:delft:centrum", "attributes": ["totalSpotNumber"]}]


def test_diff_against_a_package(pilot: Pilot, tenant: str, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    package = tmp_path / "pilot.zip"
    assert scifi(capsys, "pilot", "export", "--broker", pilot.source.url, "--tenant", pilot.tenant, "--types", TYPES,
                 "--context", pilot.context, "-o", str(package))[0] == 0
    status, out, _ = scifi(capsys, "pilot", "diff", "--package", str(package), "--to", pilot.target.url,
                           "--to-tenant", tenant, "--rewrite", "mechelen=delft")
    assert status == 1 and f"missing {SPOTS}" in out, "nothing copied yet"
    assert scifi(capsys, *replicate_args(pilot, tenant, tmp_path / "state.json"))[0] == 0
    status, out, _ = scifi(capsys, "pilot", "diff", "--package", str(package), "--to", pilot.target.url,
                           "--to-tenant", tenant, "--rewrite", "mechelen=delft")
    assert status == 0, out


def test_replicate_check_compares_after_the_copy(pilot: Pilot, tenant: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = scifi(capsys, *replicate_args(pilot, tenant, tmp_path / "state.json"), "--check")
    assert status == 0, err
    assert f"summary: created {SPOTS + 2}" in out and out.endswith("no difference\n")
    status, out, _ = scifi(capsys, *replicate_args(pilot, tenant, tmp_path / "state.json"), "--check", "--rewrite",
                           "drop:name")
    assert status == 0, "the check compares with the source as the rules rewrite it"
    assert "ParkingGroup: 1 entities; created 0, updated 1" in out and out.endswith("no difference\n")
