"""Validation against the Smart Data Models of the offline tree of tests/data: every published example is judged
as an independent validator (python-jsonschema, draft 2020-12, formats checked) judges it, and mutated
examples fail at the right JSON pointer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import referencing
from jsonschema import Draft202012Validator

from smart_data_models.models import Model, compile_model
from smart_data_models.reduce import detect_format, reduced
from smart_data_models.source import SchemaSource, SchemaUnavailable, relative_path
from tests.conftest import DATA

TREE = DATA / "smart-data-models"
SOURCE = SchemaSource(TREE)
SCHEMAS = sorted(TREE.glob("dataModel.*/*/schema.json"))
FORMAT_OF_EXAMPLE = {"example.json": "keyValues", "example.jsonld": "keyValues", "example-normalized.json": "v2",
                     "example-normalized.jsonld": "normalized"}
_models: dict[str, Model] = {}


def model_of(name: str) -> Model:
    if name not in _models:
        _models[name] = compile_model(SOURCE, name)
    return _models[name]


def model_name(schema: Path) -> str:
    return f"{schema.parent.parent.name}/{schema.parent.name}"


def oracle(schema: Path) -> Draft202012Validator:
    registry: referencing.Registry[Any] = referencing.Registry(
        retrieve=lambda uri: referencing.Resource.from_contents(SOURCE.document(uri)))
    return Draft202012Validator(json.loads(schema.read_text()), registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


EXAMPLES = [(schema, example) for schema in SCHEMAS for example in sorted((schema.parent / "examples").glob("*"))
            if example.name in FORMAT_OF_EXAMPLE]


def test_the_tree_has_the_models_and_examples_it_should() -> None:
    assert len(SCHEMAS) == 62 and len(EXAMPLES) == 248


@pytest.mark.parametrize(("schema", "example"), EXAMPLES, ids=lambda p: p.parent.name + "/" + p.name
                         if p.name.startswith("example") else p.parent.name)
def test_each_example_is_judged_as_its_schema_says(schema: Path, example: Path) -> None:
    key_values = reduced(json.loads(example.read_text()), FORMAT_OF_EXAMPLE[example.name])
    ours = model_of(model_name(schema)).violations(key_values)
    theirs = {"".join(f"/{part}" for part in error.absolute_path) for error in oracle(schema).iter_errors(key_values)}
    assert {violation.pointer for violation in ours} == theirs
    assert all(violation.message for violation in ours)


def test_about_a_fifth_of_the_examples_fail_upstream() -> None:
    failing = [example for schema, example in EXAMPLES
               if model_of(model_name(schema)).violations(
                   reduced(json.loads(example.read_text()), FORMAT_OF_EXAMPLE[example.name]))]
    assert 30 <= len(failing) <= 80, len(failing)


PARKING = TREE / "dataModel.Parking/OffStreetParking/examples/example.json"


@pytest.mark.parametrize(("mutate", "pointer", "says"), [
    (lambda e: e.update(availableSpotNumber="many"), "/availableSpotNumber", "is not of type"),
    (lambda e: e.update(availableSpotNumber=-1), "/availableSpotNumber", "minimum"),
    (lambda e: e.update(category=["public", "floating"]), "/category/1", "is not one of"),
    (lambda e: e.update(dateModified="2020-01-01"), "/dateModified", "date-time"),
    (lambda e: e.update(dateModified="2020-01-01T10:00:00"), "/dateModified", "date-time"),
    (lambda e: e.pop("id"), "", '"id" is a required property'),
    (lambda e: e.update(location={"type": "Point", "coordinates": "here"}), "/location", ""),
    (lambda e: e.update(type="Parking"), "/type", "OffStreetParking"),
])
def test_mutated_example_fails_at_its_pointer(mutate: Any, pointer: str, says: str) -> None:
    entity = json.loads(PARKING.read_text())
    assert model_of("dataModel.Parking/OffStreetParking").violations(entity) == []
    mutate(entity)
    violations = model_of("dataModel.Parking/OffStreetParking").violations(entity)
    assert [v.pointer for v in violations] == [pointer], violations
    assert says in violations[0].message


def test_normalized_ngsi_ld_is_reduced_before_it_is_validated() -> None:
    entity = json.loads((TREE / "dataModel.Parking/OffStreetParking/examples/example-normalized.jsonld").read_text())
    model = model_of("dataModel.Parking/OffStreetParking")
    assert model.violations(reduced(entity, "normalized")) == []
    entity["availableSpotNumber"]["value"] = -5
    entity["dateModified"] = {"type": "Property", "value": {"@type": "DateTime", "@value": "yesterday"}}
    assert [v.pointer for v in model.violations(reduced(entity, "normalized"))] == ["/availableSpotNumber",
                                                                                  "/dateModified"]


def test_misused_attribute_types_are_left_for_the_schema_to_judge() -> None:
    entity = {"id": "urn:ngsi-ld:OffStreetParking:1", "type": "OffStreetParking",
              "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [4.4, 51.0]}},
              "dateModified": {"type": "DateTime", "value": "2020-01-01T10:00:00Z"}}
    violations = model_of("dataModel.Parking/OffStreetParking").violations(reduced(entity, "normalized"))
    assert [v.pointer for v in violations] == ["/dateModified"]


@pytest.mark.parametrize(("entity", "expected"), [
    ({"id": "x", "type": "T", "a": {"type": "Property", "value": 1}}, "normalized"),
    ({"id": "x", "type": "T", "a": {"type": "Relationship", "object": "urn:x"}, "b": 2}, "normalized"),
    ({"id": "x", "type": "T", "a": {"type": "Number", "value": 1, "metadata": {}}}, "v2"),
    ({"id": "x", "type": "T", "a": 1, "b": {"street": "Grote Markt"}}, "keyValues"),
])
def test_formats_are_detected(entity: dict[str, Any], expected: str) -> None:
    assert detect_format(entity) == expected


def test_concise_attributes_reduce_like_normalized_ones() -> None:
    concise = {"id": "x", "type": "T", "a": 1, "b": {"value": 2, "unitCode": "C"}, "c": {"object": "urn:y"},
               "d": {"languageMap": {"nl": "markt"}}, "e": {"@type": "DateTime", "@value": "2020-01-01T00:00:00Z"}}
    assert reduced(concise, "normalized") == {"id": "x", "type": "T", "a": 1, "b": 2, "c": "urn:y",
                                              "d": {"nl": "markt"}, "e": "2020-01-01T00:00:00Z"}


def test_both_url_forms_map_into_the_tree() -> None:
    raw = "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/Environment-schema.json"
    assert relative_path(raw) == "dataModel.Environment/Environment-schema.json"
    assert relative_path("https://smart-data-models.github.io/data-models/common-schema.json#/definitions/x") == (
        "data-models/common-schema.json")
    with pytest.raises(SchemaUnavailable):
        relative_path("https://example.org/schema.json")


def test_a_model_the_source_lacks_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(SchemaUnavailable):
        compile_model(SchemaSource(tmp_path), "dataModel.Parking/OffStreetParking")
    with pytest.raises(SchemaUnavailable):
        compile_model(SOURCE, "OffStreetParking")

