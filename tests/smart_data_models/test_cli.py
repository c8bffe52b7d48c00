"""`scifi validate`, run as a process against the offline Smart Data Models tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA, ROOT

TREE = DATA / "smart-data-models"
OFF_STREET = "dataModel.Parking/OffStreetParking"
EXAMPLES = TREE / OFF_STREET / "examples"


def example(name: str, model: str = OFF_STREET) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((TREE / model / "examples" / name).read_text())
    return document


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


def validate(*arguments: str | Path, tree: Path | None = TREE,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`scifi validate ARGUMENTS` with `--sdm-dir tree` (none when tree is None) and SCIFI_SDM_DIR unset."""
    command = [sys.executable, "-m", "broker.cli", "validate", *map(str, arguments)]
    if tree is not None:
        command += ["--sdm-dir", str(tree)]
    environment = {name: value for name, value in os.environ.items() if name != "SCIFI_SDM_DIR"}
    return subprocess.run(command, cwd=ROOT, env={**environment, **(env or {})}, capture_output=True, text=True,
                          timeout=120)


def report(*arguments: str | Path) -> tuple[int, dict[str, Any]]:
    """Exit status and JSON report of `scifi validate --json ARGUMENTS`."""
    run = validate("--json", *arguments)
    return run.returncode, json.loads(run.stdout)


def test_a_valid_file_exits_0(tmp_path: Path) -> None:
    run = validate(write(tmp_path / "parking.json", example("example.json")))
    assert run.returncode == 0, run.stdout + run.stderr
    assert OFF_STREET in run.stdout
    assert "1 entity, 1 valid, 0 invalid" in run.stdout
    assert run.stdout.rstrip().endswith("total: 1 entity, 1 valid, 0 invalid")


@pytest.mark.parametrize(("member", "value", "pointer", "message"), [
    ("availableSpotNumber", -1, "/availableSpotNumber", "-1 is less than the minimum of 0"),
    ("layout", ["spiral"], "/layout/0", '"spiral" is not one of the allowed values: "automatedParkingGarage", '
                                        '"carports", "covered", "field", "garageBoxes", "multiLevel", "multiStorey", '
                                        '"nested", "openSpace", "rooftop", "sheds", "singleLevel", "surface", "other"'),
    ("occupancyModified", "2020-01-01", "/occupancyModified", '"2020-01-01" is not a "date-time"'),
])
def test_a_violation_is_named_by_pointer_and_message(tmp_path: Path, member: str, value: Any, pointer: str,
                                                     message: str) -> None:
    entity = {**example("example.json"), member: value}
    run = validate(write(tmp_path / "parking.json", entity))
    assert run.returncode == 1
    line = next(line for line in run.stdout.splitlines() if pointer in line)
    assert "porto-ParkingLot-23889" in line and message in line
    assert "1 entity, 0 valid, 1 invalid" in run.stdout


def test_the_json_report_counts_each_model(tmp_path: Path) -> None:
    broken = {**example("example.json"), "id": "broken", "availableSpotNumber": -1}
    spot = example("example.json", "dataModel.Parking/ParkingSpot")
    status, document = report(write(tmp_path / "entities.json", [example("example.json"), broken, spot]))
    assert status == 1
    assert document["models"] == {OFF_STREET: {"valid": 1, "invalid": 1},
                                  "dataModel.Parking/ParkingSpot": {"valid": 1, "invalid": 0}}
    entities = document["entities"]
    assert [(entity["index"], entity["valid"]) for entity in entities] == [(0, True), (1, False), (2, True)]
    assert entities[1]["id"] == "broken" and entities[1]["model"] == OFF_STREET
    assert entities[1]["file"] == str(tmp_path / "entities.json")
    assert entities[1]["violations"] == [{"pointer": "/availableSpotNumber",
                                          "message": "-1 is less than the minimum of 0"}]


def test_a_folder_is_read_recursively(tmp_path: Path) -> None:
    nested = tmp_path / "b" / "c"
    nested.mkdir(parents=True)
    write(tmp_path / "a-array.json", [example("example.json"), example("example.jsonld")])
    entities = [example("example.json"), {**example("example.json"), "availableSpotNumber": -1}]
    (tmp_path / "b" / "entities.ndjson").write_text("\n".join(json.dumps(entity) for entity in entities) + "\n\n")
    write(nested / "single.jsonld", example("example-normalized.jsonld"))
    (tmp_path / "notes.txt").write_text("not an entity file")
    status, document = report(tmp_path)
    assert status == 1
    assert document["models"] == {OFF_STREET: {"valid": 4, "invalid": 1}}
    read = [(Path(entity["file"]).relative_to(tmp_path).as_posix(), entity["index"], entity["line"])
            for entity in document["entities"]]
    assert read == [("a-array.json", 0, None), ("a-array.json", 1, None), ("b/c/single.jsonld", 0, None),
                    ("b/entities.ndjson", 0, 1), ("b/entities.ndjson", 1, 2)]
    assert document["entities"][4]["violations"][0]["pointer"] == "/availableSpotNumber"


def test_ndjson_in_a_json_file_is_located_by_line(tmp_path: Path) -> None:
    broken = {**example("example.json"), "availableSpotNumber": -1}
    lines = [json.dumps(example("example.json")), "", json.dumps(broken)]
    (tmp_path / "entities.json").write_text("\n".join(lines))
    run = validate(tmp_path / "entities.json")
    assert run.returncode == 1
    assert f"{tmp_path / 'entities.json'}:3" in run.stdout
    assert "2 entities, 1 valid, 1 invalid" in run.stdout


@pytest.mark.parametrize("name", ["example-normalized.json", "example-normalized.jsonld", "example.jsonld"])
def test_every_published_form_of_a_valid_example_passes(tmp_path: Path, name: str) -> None:
    status, document = report(write(tmp_path / name, example(name)))
    assert status == 0
    assert document["models"] == {OFF_STREET: {"valid": 1, "invalid": 0}}


def test_ngsiv2_normalized_is_reduced_before_checking(tmp_path: Path) -> None:
    entity = example("example-normalized.json")
    entity["availableSpotNumber"] = {"type": "Number", "value": -1}
    entity["occupancyModified"] = {"type": "DateTime", "value": "2020-01-01"}
    status, document = report(write(tmp_path / "v2.json", entity))
    assert status == 1
    assert document["entities"][0]["violations"] == [
        {"pointer": "/availableSpotNumber", "message": "-1 is less than the minimum of 0"},
        {"pointer": "/occupancyModified",
         "message": '"2020-01-01" is not a "date-time" of RFC 3339, such as 2026-11-27T08:00:00Z'},
    ]


def test_a_forced_format_is_used_for_every_entity(tmp_path: Path) -> None:
    file = write(tmp_path / "v2.json", example("example-normalized.json"))
    assert report(file, "--format", "v2")[0] == 0
    status, document = report(file, "--format", "keyValues")
    assert status == 1
    messages = {v["pointer"]: v["message"] for v in document["entities"][0]["violations"]}
    assert '"value":132' in messages["/availableSpotNumber"]
    assert messages["/availableSpotNumber"].endswith('is not of type "integer"')


def test_model_forces_one_model_on_every_entity(tmp_path: Path) -> None:
    unknown = {**example("example.json"), "type": "Car park"}
    status, document = report(write(tmp_path / "parking.json", unknown), "--model", OFF_STREET)
    assert status == 1
    assert document["models"] == {OFF_STREET: {"valid": 0, "invalid": 1}}
    assert document["entities"][0]["violations"] == [
        {"pointer": "/type", "message": '"Car park" is not one of the allowed values: "OffStreetParking"'}]


def test_an_unknown_model_is_a_usage_error(tmp_path: Path) -> None:
    file = write(tmp_path / "parking.json", example("example.json"))
    for model in ("dataModel.Parking/Nowhere", "OffStreetParking"):
        run = validate(file, "--model", model)
        assert run.returncode == 2
        assert f"scifi validate: model {model}" in run.stderr
        assert run.stdout == ""


def test_a_type_iri_names_its_model_and_is_no_violation(tmp_path: Path) -> None:
    entity = {**example("example.json"), "type": "https://smartdatamodels.org/dataModel.Parking/OffStreetParking"}
    status, document = report(write(tmp_path / "parking.json", entity))
    assert document["models"] == {OFF_STREET: {"valid": 1, "invalid": 0}} and status == 0
    other = {**example("example.json"), "type": "https://uri.etsi.org/ngsi-ld/default-context/OffStreetParking"}
    status, document = report(write(tmp_path / "other.json", other))
    assert document["models"] == {OFF_STREET: {"valid": 0, "invalid": 1}} and status == 1
    assert document["entities"][0]["violations"][0]["pointer"] == "/type"


def test_an_unknown_type_is_an_invalid_row(tmp_path: Path) -> None:
    entities = [{"id": "urn:ngsi-ld:Spaceship:1", "type": "Spaceship"}, {"id": "no-type"}, 42, example("example.json")]
    run = validate(write(tmp_path / "entities.json", entities))
    assert run.returncode == 1
    assert "(no model)" in run.stdout
    assert "urn:ngsi-ld:Spaceship:1" in run.stdout and "no model for type Spaceship" in run.stdout
    assert "the entity has no type" in run.stdout
    assert "not an entity: a JSON object was expected" in run.stdout
    assert "total: 4 entities, 1 valid, 3 invalid" in run.stdout


def test_unreadable_json_is_an_invalid_row(tmp_path: Path) -> None:
    write(tmp_path / "good.json", example("example.json"))
    (tmp_path / "broken.json").write_text('[{"id": "x", "type": "OffStreetParking",\n')
    (tmp_path / "lines.ndjson").write_text(json.dumps(example("example.json")) + "\n{not json\n")
    status, document = report(tmp_path)
    assert status == 1
    rows = {(Path(entity["file"]).name, entity["line"]): entity for entity in document["entities"]}
    assert set(rows) == {("broken.json", None), ("good.json", None), ("lines.ndjson", 1), ("lines.ndjson", 2)}
    broken = rows["broken.json", None]
    assert broken["index"] is None and broken["model"] is None and not broken["valid"]
    assert broken["violations"][0]["message"].startswith("not JSON: ")
    assert rows["lines.ndjson", 2]["violations"][0]["message"].startswith("not JSON: ")
    assert document["models"] == {OFF_STREET: {"valid": 2, "invalid": 0}}
    assert document["total"] == {"entities": 4, "valid": 2, "invalid": 2}


def test_the_tree_can_come_from_the_environment(tmp_path: Path) -> None:
    file = write(tmp_path / "parking.json", example("example.json"))
    run = validate(file, tree=None, env={"SCIFI_SDM_DIR": str(TREE)})
    assert run.returncode == 0
    assert "total: 1 entity, 1 valid, 0 invalid" in run.stdout


def test_without_a_tree_the_command_is_a_usage_error(tmp_path: Path) -> None:
    file = write(tmp_path / "parking.json", example("example.json"))
    run = validate(file, tree=None, env={"SCIFI_DATA_DIR": str(tmp_path / "data")})
    assert run.returncode == 2
    assert "--sdm-dir" in run.stderr and "SCIFI_SDM_DIR" in run.stderr
    assert validate(file, tree=tmp_path / "missing").returncode == 2


def test_without_a_tree_a_model_is_fetched_from_the_published_models(tmp_path: Path, mirror: str) -> None:
    file = write(tmp_path / "parking.json", {**example("example.json"), "availableSpotNumber": -1})
    env = {"SCIFI_DATA_DIR": str(tmp_path / "data"), "SCIFI_SDM_URL": mirror}
    run = validate(file, "--model", OFF_STREET, tree=None, env=env)
    assert run.returncode == 1, run.stderr
    assert "/availableSpotNumber" in run.stdout
    assert (tmp_path / "data/sdm/data-models/common-schema.json").exists()
    again = validate(file, tree=None, env={"SCIFI_DATA_DIR": str(tmp_path / "data")})  # from the cache, by type
    assert again.returncode == 1 and "/availableSpotNumber" in again.stdout


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    run = validate(tmp_path / "missing.json")
    assert run.returncode == 2
    assert "missing.json" in run.stderr


def test_many_entities_draw_a_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    file = tmp_path / "many.ndjson"
    file.write_text("\n".join([json.dumps(example("example.json"))] * 1001))
    quiet = validate(file)
    assert quiet.returncode == 0 and quiet.stderr == ""
    terminal, other_end = os.openpty()
    command = [sys.executable, "-m", "broker.cli", "validate", str(file), "--sdm-dir", str(TREE)]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=other_end) as process:
        os.close(other_end)
        drawn = read_until_closed(terminal)
        table, _ = process.communicate(timeout=120)
    assert process.returncode == 0
    assert b"1001 entities, 1001 valid" in table
    read_twice = 2 * file.stat().st_size // 1024  # once to judge the format, once to check
    assert drawn.startswith(b"\r[") and drawn.rstrip().endswith(f"] 100% of {read_twice} KiB read".encode())


def read_until_closed(terminal: int) -> bytes:
    """What was written to a pseudo-terminal until its other end was closed."""
    written = b""
    try:
        while chunk := os.read(terminal, 65536):
            written += chunk
    except OSError:  # EIO: the process has closed its end
        pass
    finally:
        os.close(terminal)
    return written
