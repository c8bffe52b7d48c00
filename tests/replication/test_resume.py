"""An interrupted copy (a killed process, Ctrl-C, a target broker that went away) completes when run again,
with nothing missing and nothing twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, BrokerProcess
from tests.replication.conftest import Pilot, parking_pilot, replicate_args, scifi

BIG = 400
"""ParkingSpots of the pilot copied here, four per batch: a hundred batches to stop the copy in."""


@pytest.fixture(scope="module")
def big_pilot(pilot: Pilot) -> Iterator[Pilot]:
    """The Mechelen pilot with many spots, in its own tenant of the source broker."""
    big = Pilot(pilot.source, pilot.target, pilot.context, tenant="mechelen-big")
    with big.client(big.source, big.tenant) as http:
        answer = http.post("/entityOperations/upsert", json=parking_pilot("mechelen", spots=BIG))
        assert answer.status_code == 201, answer.text
    yield big


def start_copy(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "broker.cli", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def wait_for_progress(state: Path, process: subprocess.Popen[bytes], entities: int = 40) -> None:
    """Returns once the state file says `entities` spots were copied, the copy still running."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if json.loads(state.read_text())["offsets"].get("ParkingSpot", 0) >= entities:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.005)
    raise AssertionError("the copy made no progress")


def assert_complete(pilot: Pilot, broker: BrokerProcess, tenant: str) -> None:
    copy = pilot.entities(broker, tenant)
    ids = [entity["id"] for entity in copy]
    assert len(ids) == len(set(ids)) == BIG + 2
    assert all(":delft:" in entity_id for entity_id in ids)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_a_killed_copy_completes_when_run_again(big_pilot: Pilot, tenant: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str], sig: int) -> None:
    state = tmp_path / "state.json"
    args = replicate_args(big_pilot, tenant, state, "--json")
    args[args.index("--batch-size") + 1] = "4"
    process = start_copy(args)
    wait_for_progress(state, process)
    process.send_signal(sig)
    _, err = process.communicate(timeout=20)
    if sig == signal.SIGINT:
        assert process.returncode == 130
        assert err.decode().splitlines()[-1] == "scifi replicate: interrupted; run the same command again to resume"
        assert "Traceback" not in err.decode()
    assert len(big_pilot.entities(big_pilot.target, tenant)) < BIG + 2, "the copy was stopped half way"
    status, out, err = scifi(capsys, *args)
    assert status == 0, err
    assert f"resuming the copy recorded in {state} (remove it to start afresh)" in err
    assert "ParkingSpot: resuming after" in err
    summary = json.loads(out)
    assert summary["created"] + summary["unchanged"] == BIG + 2
    assert summary["unchanged"] <= 4, "at most the batch that was being written is read again"
    assert_complete(big_pilot, big_pilot.target, tenant)
    assert not state.exists()


def test_a_target_that_went_away(big_pilot: Pilot, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = BrokerProcess(tmp_path / "target").start()
    try:
        state = tmp_path / "state.json"
        args = replicate_args(big_pilot, "delft", state, "--json")
        args[args.index("--to") + 1] = target.url
        args[args.index("--batch-size") + 1] = "4"
        process = start_copy(args)
        wait_for_progress(state, process)
        target.stop(signal.SIGKILL)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 1
        message = err.decode().splitlines()[-1]
        assert "cannot be reached" in message and "run the same command again to resume" in message
        assert "Traceback" not in err.decode()
        target.start()
        status, out, err = scifi(capsys, *args)
        assert status == 0, err
        assert_complete(big_pilot, target, "delft")
    finally:
        target.stop()
