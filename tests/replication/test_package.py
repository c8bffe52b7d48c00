"""`scifi pilot export` and `scifi pilot import`: the pilot package, and that export then import gives what
replicate gives."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA
from tests.replication.conftest import CONTEXT_PATH, SPOTS, TYPES, Pilot, replicate_args, scifi


@pytest.fixture(scope="module")
def package(pilot: Pilot, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("package") / "mechelen-parking.zip"
    status = scifi_main("pilot", "export", "--broker", pilot.source.url, "--tenant", pilot.tenant, "--types", TYPES,
                        "--context", pilot.context, "--subscriptions", "--batch-size", "5", "-o", str(path))
    assert status == 0
    return path


def scifi_main(*argv: str) -> int:
    from broker.cli import main

    return main(list(argv))


def import_args(package: Path, pilot: Pilot, tenant: str, tmp_path: Path, *extra: str) -> list[str]:
    return ["pilot", "import", str(package), "--broker", pilot.target.url, "--tenant", tenant, "--rewrite",
            "mechelen=delft", "--subscriptions", "--batch-size", "5", "--state", str(tmp_path / "state.json"),
            *extra]


def test_the_package_holds_manifest_entities_subscriptions_and_contexts(package: Path, pilot: Pilot) -> None:
    with zipfile.ZipFile(package) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["format"] == "scifi-pilot/1"
        assert manifest["tool"]["name"] == "scifi" and manifest["tool"]["version"]
        assert manifest["source"] == {"broker": pilot.source.url, "tenant": "mechelen"}
        assert manifest["types"] == TYPES.split(",")
        assert manifest["@context"] == pilot.context
        assert manifest["counts"] == {"OffStreetParking": 1, "ParkingSpot": SPOTS, "ParkingGroup": 1}
        for name, expected in manifest["files"].items():
            content = archive.read(name)
            assert hashlib.sha256(content).hexdigest() == expected["sha256"] and len(content) == expected["bytes"]
        spots = [json.loads(line) for line in archive.read(manifest["entities"]["ParkingSpot"]).splitlines()]
        assert len(spots) == SPOTS
        assert spots[0]["refParkingSite"] == {"type": "Relationship",
                                              "object": "urn:ngsi-ld:OffStreetParking:mechelen:centrum"}
        subscriptions = archive.read("subscriptions.ndjson").splitlines()
        assert [json.loads(line)["id"] for line in subscriptions] == ["urn:ngsi-ld:Subscription:mechelen:full-parkings"]
        assert "status" not in json.loads(subscriptions[0])
        context = archive.read(manifest["contexts"][pilot.context])
        assert json.loads(context) == json.loads((DATA / "smart-data-models" / CONTEXT_PATH.lstrip("/")).read_bytes())


def comparable(pilot: Pilot, tenant: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with pilot.client(pilot.target, tenant) as http:
        subscriptions = http.get("/subscriptions").json()
    for item in subscriptions:
        item.pop("notification", {}).pop("status", None)
    return sorted(pilot.entities(pilot.target, tenant), key=lambda entity: entity["id"]), subscriptions


def test_export_then_import_gives_what_replicate_gives(package: Path, pilot: Pilot, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = scifi(capsys, *import_args(package, pilot, "delft-import", tmp_path))
    assert status == 0, err
    assert f"created {SPOTS + 2}, updated 0, unchanged 0, failed 0" in out
    status, _, err = scifi(capsys, *replicate_args(pilot, "delft-replicate", tmp_path / "r.json"), "--subscriptions")
    assert status == 0, err
    imported, replicated = comparable(pilot, "delft-import"), comparable(pilot, "delft-replicate")
    assert len(imported[0]) == SPOTS + 2 and len(imported[1]) == 1
    assert imported == replicated
    status, out, _ = scifi(capsys, *import_args(package, pilot, "delft-import", tmp_path))
    assert status == 0
    assert f"created 0, updated 0, unchanged {SPOTS + 2}, failed 0" in out, "a second import changes nothing"


def test_import_dry_run_writes_nothing(package: Path, pilot: Pilot, tenant: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = scifi(capsys, *import_args(package, pilot, tenant, tmp_path), "--dry-run")
    assert status == 0, err
    assert "plan: would be created 14" in out and "dry run: nothing was written" in out
    assert pilot.entities(pilot.target, tenant) == []


def test_import_some_types_only(package: Path, pilot: Pilot, tenant: str, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = scifi(capsys, *import_args(package, pilot, tenant, tmp_path), "--types", "ParkingSpot")
    assert status == 0, err
    assert {entity["type"] for entity in pilot.entities(pilot.target, tenant)} == {"ParkingSpot"}
    status, _, err = scifi(capsys, *import_args(package, pilot, tenant, tmp_path), "--types", "Vehicle")
    assert status == 2 and "holds no entities of type Vehicle" in err


def damaged(package: Path, tmp_path: Path) -> Path:
    """The package with one spot changed, its manifest as it was."""
    copy = tmp_path / "damaged.zip"
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(copy, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if "ParkingSpot" in item.filename:
                content = content.replace(b'"free"', b'"closed"', 1)
            target.writestr(item, content)
    return copy


@pytest.mark.parametrize(("make", "message"), [
    (lambda package, tmp: tmp / "missing.zip", "missing.zip: no such file"),
    (lambda package, tmp: (tmp / "text.zip").write_text("not a zip") and tmp / "text.zip", "not a zip file"),
    (damaged, "is damaged (its checksum does not match the manifest)"),
])
def test_a_bad_package_is_one_line(package: Path, pilot: Pilot, tenant: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str], make: Any, message: str) -> None:
    status, _, err = scifi(capsys, *import_args(make(package, tmp_path), pilot, tenant, tmp_path))
    assert status == 2
    assert err.count("\n") == 1 and message in err
    assert pilot.entities(pilot.target, tenant) == []


def test_an_export_that_fails_leaves_no_file(pilot: Pilot, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pilot.zip"
    status, _, err = scifi(capsys, "pilot", "export", "--broker", pilot.source.url, "--tenant", "nobody", "--types",
                           TYPES, "-o", str(path))
    assert status == 1 and "Nonexistent tenant" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_an_abandoned_package_is_removed_with_its_open_file(tmp_path: Path) -> None:
    import gc

    from replication.package import PackageWriter

    writer = PackageWriter(tmp_path / "pilot.zip")
    writer.entities("ParkingSpot").write({"id": "urn:ngsi-ld:ParkingSpot:mechelen:1", "type": "ParkingSpot"})
    writer.abandon()
    del writer
    gc.collect()
    assert list(tmp_path.iterdir()) == []
