"""`scifi validate` from a data officer's side: the format judged from the whole file, type IRIs, every instance
of a multi-instance attribute, a broken tree as a set-up error, files read as a stream, messages that say what
to change."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from smart_data_models import cli
from tests.smart_data_models.test_cli import OFF_STREET, TREE, example, report, validate, write


def test_an_ngsiv2_file_typed_relationship_and_property_is_read_as_ngsiv2(tmp_path: Path) -> None:
    """NGSIv2 has no fixed attribute types: `Relationship` and `Property` occur, with a `value` and `metadata`."""
    entity = example("example-normalized.json")
    for name, attribute in entity.items():
        if isinstance(attribute, dict) and "value" in attribute:
            attribute["type"] = "Relationship" if name.startswith("ref") else "Property"
            attribute["metadata"] = {}
    file = write(tmp_path / "v2.json", [entity, {**entity, "id": "porto-ParkingLot-2"}])
    run = validate(file)
    assert run.returncode == 0, run.stdout
    assert f"{file}: read as NGSIv2 normalized, judged from all its entities (--format" in run.stdout
    assert report(file)[1]["formats"] == {str(file): "v2"}


def test_an_ngsi_ld_file_with_attributes_typed_string_is_read_as_ngsi_ld(tmp_path: Path) -> None:
    """Typed "string" (a published mistake), the attributes are not NGSIv2 ones: the @context says NGSI-LD."""
    entity = example("example-normalized.jsonld")
    entity["name"] = {"type": "string", "value": "Parking Centrum"}
    file = write(tmp_path / "ld.jsonld", entity)
    status, document = report(file)
    assert document["formats"] == {str(file): "normalized"} and status == 1
    assert [v["pointer"] for v in document["entities"][0]["violations"]] == ["/name"]
    assert validate(file, "--format", "v2").returncode == 0  # what the message points at


def test_every_instance_of_a_multi_instance_attribute_is_checked(tmp_path: Path) -> None:
    entity = example("example-normalized.jsonld")
    entity["availableSpotNumber"] = [
        {"type": "Property", "value": 5},
        {"type": "Property", "value": 7, "datasetId": "urn:ngsi-ld:Dataset:camera"},
        {"type": "Property", "value": -1, "datasetId": "urn:ngsi-ld:Dataset:counter"}]
    status, document = report(write(tmp_path / "ld.jsonld", entity))
    assert status == 1
    assert document["entities"][0]["violations"] == [
        {"pointer": "/availableSpotNumber",
         "message": "-1 is less than the minimum of 0 (in the instance of datasetId urn:ngsi-ld:Dataset:counter)"}]


def test_a_tree_missing_a_referenced_schema_is_a_set_up_error(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(TREE / "dataModel.Parking", tree / "dataModel.Parking")  # without data-models/common-schema.json
    run = validate(write(tmp_path / "parking.json", example("example.json")), tree=tree)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.splitlines() == [
        f"scifi validate: the Smart Data Models tree {tree} is broken or incomplete: model {OFF_STREET} cannot be "
        "compiled: https://smart-data-models.github.io/data-models/common-schema.json is not in the tree"]


@pytest.mark.parametrize("schema", ["{", '{"type": 5}'])
def test_a_broken_schema_is_a_set_up_error(tmp_path: Path, schema: str) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree)
    (tree / OFF_STREET / "schema.json").write_text(schema)
    run = validate(write(tmp_path / "parking.json", example("example.json")), tree=tree)
    assert run.returncode == 2 and len(run.stderr.splitlines()) == 1 and "broken or incomplete" in run.stderr


def test_a_tree_without_models_is_a_set_up_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    run = validate(write(tmp_path / "parking.json", example("example.json")), tree=tmp_path / "empty")
    assert run.returncode == 2 and len(run.stderr.splitlines()) == 1 and "holds no model" in run.stderr


class CountingReader(io.BytesIO):
    """A file that counts the bytes read from it."""

    read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        return chunk


def test_an_array_file_is_read_as_a_stream() -> None:
    entities = [{**example("example.json"), "id": f"parking-{number}"} for number in range(3000)]
    file = CountingReader(json.dumps(entities, indent=2).encode())
    items = cli.array_items("big.json", file)
    first = next(items)
    assert first.entity["id"] == "parking-0" and first.location == "big.json[0]"
    assert file.read_bytes <= cli._CHUNK < len(file.getvalue()) / 3
    assert [item.entity["id"] for item in items] == [f"parking-{number}" for number in range(1, 3000)]


@pytest.mark.parametrize("document", [
    [1, 23, 456, 7.5, -8e3, "a, ]", {"a": [1, {"b": "]"}]}, None, True, [], {}],
    [],
    [{"id": "x", "type": "T", "name": "caf\u00e9 \u00e0 la gare"}],
])
def test_array_elements_are_whole_whatever_the_chunk_size(monkeypatch: pytest.MonkeyPatch, document: Any) -> None:
    for chunk in (1, 2, 3, 7, 64):
        monkeypatch.setattr(cli, "_CHUNK", chunk)
        items = list(cli.array_items("f.json", io.BytesIO(json.dumps(document, ensure_ascii=False).encode())))
        assert [item.entity for item in items] == document and all(item.error is None for item in items)


@pytest.mark.parametrize(("text", "error"), [
    ('[{"id": "x"}, {"id": ', "in element 1"),
    ('[{"id": "x"} {"id": "y"}]', "a comma or ] was expected after element 1"),
    ('[{"id": "x"},', "unclosed"),
])
def test_a_broken_array_keeps_the_elements_before_the_break(text: str, error: str) -> None:
    items = list(cli.array_items("f.json", io.BytesIO(text.encode())))
    assert items[0].entity == {"id": "x"}
    assert len(items) == 2 and items[1].error is not None and error in items[1].error


def test_messages_say_what_to_change(tmp_path: Path) -> None:
    entity = {**example("example.json"), "occupancyModified": "2020-01-01T10:00:00",
              "location": {"type": "Point", "coordinates": "4.4,51.0"}}
    status, document = report(write(tmp_path / "parking.json", entity))
    messages = {v["pointer"]: v["message"] for v in document["entities"][0]["violations"]}
    assert status == 1
    assert messages["/occupancyModified"] == (
        '"2020-01-01T10:00:00" is not a "date-time": the time zone is missing (add Z for UTC, or an offset such as '
        '+01:00), as in 2026-11-27T08:00:00Z')
    assert messages["/location"].startswith('{"type": "Point", "coordinates": "4.4,51.0"} matches none of the 6 forms '
                                            "that oneOf allows; the closest, form 1, fails because")
    assert messages["/location"].endswith('"4.4,51.0" is not of type "array"')
