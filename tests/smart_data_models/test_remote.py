"""Models from the published URLs (here a local mirror of them): `scifi sdm pull` fills the broker's cache,
and a broker then validates with no access to the mirror at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.broker.entity_helpers import assert_problem
from tests.conftest import API, ROOT, BrokerProcess, free_port, link, unique_id

MODEL = "dataModel.Parking/OffStreetParking"
PARKING_CONTEXT = "https://smart-data-models.github.io/dataModel.Parking/context.jsonld"


def pull(data_dir: Path, mirror: str, *models: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCIFI_SDM_URL": mirror, "SCIFI_SDM_TIMEOUT": "2"}
    return subprocess.run([sys.executable, "-m", "broker.cli", "sdm", "pull", *models, "--data-dir", str(data_dir)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_pulled_models_validate_without_the_network(tmp_path: Path, mirror: str) -> None:
    done = pull(tmp_path, mirror, MODEL)
    assert done.returncode == 0, done.stderr
    cache = tmp_path / "sdm"
    assert (cache / "dataModel.Parking/OffStreetParking/schema.json").exists()
    assert (cache / "data-models/common-schema.json").exists()  # what the schema $refs
    assert (cache / "dataModel.Parking/context.jsonld").exists()
    offline = {"SCIFI_SDM_URL": f"http://127.0.0.1:{free_port()}/", "SCIFI_SDM_MODELS": MODEL,
               "SCIFI_SDM_POLICY": "enforce", "SCIFI_SDM_TIMEOUT": "2"}
    broker = BrokerProcess(tmp_path, env=offline).start()
    try:
        with httpx.Client(base_url=broker.url + API, headers=link(PARKING_CONTEXT), timeout=10) as client:
            entity = {"id": unique_id("OffStreetParking"), "type": "OffStreetParking",
                      "availableSpotNumber": {"type": "Property", "value": -1},
                      "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [4.4, 51.0]}}}
            problem = assert_problem(client.post("/entities", json=entity), 400, "BadRequestData")
            assert [v["pointer"] for v in problem["violations"]] == ["/availableSpotNumber"]
    finally:
        broker.stop()


def test_a_whole_subject_is_pulled(tmp_path: Path, mirror: str) -> None:
    done = pull(tmp_path, mirror, "dataModel.Parking")
    assert done.returncode == 0, done.stderr
    pulled = sorted(path.parent.name for path in (tmp_path / "sdm/dataModel.Parking").glob("*/schema.json"))
    assert pulled == ["OffStreetParking", "OnStreetParking", "ParkingAccess", "ParkingGroup", "ParkingSpot"]


def test_a_model_the_mirror_lacks_is_reported(tmp_path: Path, mirror: str) -> None:
    done = pull(tmp_path, mirror, "dataModel.Parking/Submarine")
    assert done.returncode == 1 and "dataModel.Parking/Submarine" in done.stderr


def test_a_broker_whose_models_cannot_be_had_does_not_start(tmp_path: Path) -> None:
    unreachable = {"SCIFI_SDM_URL": f"http://127.0.0.1:{free_port()}/", "SCIFI_SDM_MODELS": MODEL,
                   "SCIFI_SDM_POLICY": "warn", "SCIFI_SDM_TIMEOUT": "2"}
    with pytest.raises(RuntimeError):
        BrokerProcess(tmp_path, env=unreachable).start()
