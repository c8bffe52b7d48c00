"""Compiled Smart Data Models: a model's schema as a jsonschema-rs validator (draft 2020-12, formats checked),
with the @context of its subject, which maps entity types and attribute names to IRIs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from ngsi_ld.context import TermMap, build_term_map, builtin_document
from ngsi_ld.errors import shown
from smart_data_models.source import SchemaSource, SchemaUnavailable, context_url, schema_url

__all__ = ["Model", "Violation", "compile_model", "described", "explained", "in_instances"]


@dataclass(frozen=True, slots=True)
class Violation:
    pointer: str
    """JSON pointer (RFC 6901) of the offending member of the key-values entity; "" for the entity itself."""
    message: str


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    """'<repo>/<Model>', e.g. 'dataModel.Parking/ParkingSpot'."""
    type_iri: str
    terms: TermMap
    validator: Any

    @property
    def type_name(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    def violations(self, key_values: dict[str, Any]) -> list[Violation]:
        """What the key-values entity breaks of the schema; empty when it is valid."""
        if self.validator.is_valid(key_values):
            return []
        return sorted((Violation(_pointer(error.instance_path), explained(error, key_values))
                       for error in self.validator.iter_errors(key_values)), key=lambda v: (v.pointer, v.message))


def explained(error: Any, document: Any) -> str:
    """A jsonschema-rs error in words that say what to change: a missing time zone, every allowed value, and
    for anyOf / oneOf the alternative that came closest, and why it failed. Values are shown as `document`
    has them (some versions of jsonschema-rs give an error's instance with its members reordered)."""
    kind = error.kind
    name = type(kind).__name__
    instance = _value_at(document, error.instance_path, error.instance)
    if name == "Enum":
        return f"{shown(instance)} is not one of the allowed values: {', '.join(map(shown, kind.options))}"
    if name == "Format" and kind.format in _TIME_FORMATS:
        return _time_message(instance, kind.format) or error.message
    if name in ("AnyOf", "OneOfNotValid") and kind.context:
        number, closest = min(enumerate(kind.context, 1), key=lambda branch: _distance(branch[1]))
        keyword = "anyOf" if name == "AnyOf" else "oneOf"
        reasons = "; ".join(explained(reason, document) for reason in closest[:3])
        return (f"{shown(instance)} matches none of the {len(kind.context)} forms that {keyword} allows; the "
                f"closest, form {number}, fails because {reasons}")
    return error.message  # type: ignore[no-any-return]


def _value_at(document: Any, path: Any, otherwise: Any) -> Any:
    """The value at a JSON path (keys and indexes) of the document, or `otherwise` where there is none."""
    for step in path:
        try:
            document = document[step]
        except (KeyError, IndexError, TypeError):
            return otherwise
    return document


_TIME_FORMATS = {"date-time": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d([.,]\d+)?)?"),
                 "time": re.compile(r"\d\d:\d\d(:\d\d([.,]\d+)?)?")}
_TIME_EXAMPLES = {"date-time": "2026-11-27T08:00:00Z", "time": "08:00:00Z"}


def _time_message(value: Any, time_format: str) -> str | None:
    if not isinstance(value, str):
        return None
    example = _TIME_EXAMPLES[time_format]
    if _TIME_FORMATS[time_format].fullmatch(value):
        return (f"{shown(value)} is not a \"{time_format}\": the time zone is missing (add Z for UTC, or an offset "
                f"such as +01:00), as in {example}")
    return f"{shown(value)} is not a \"{time_format}\" of RFC 3339, such as {example}"


def _distance(reasons: list[Any]) -> tuple[int, int]:
    """How far a value is from an alternative: a wrong JSON type is farthest, then the number of reasons."""
    return (sum(type(reason.kind).__name__ == "Type" for reason in reasons), len(reasons))


def in_instances(violations: list[Violation], dataset_ids: dict[str, str]) -> list[Violation]:
    """The violations of one instance of an entity's multi-instance attributes, each of an attribute whose
    instance is not the default one saying its datasetId."""
    labelled = []
    for violation in violations:
        dataset_id = dataset_ids.get(violation.pointer.split("/")[1] if violation.pointer else "")
        if dataset_id is not None:
            violation = Violation(violation.pointer, f"{violation.message} (in the instance of datasetId "
                                                     f"{dataset_id})")
        labelled.append(violation)
    return labelled


def described(violations: list[Violation]) -> str:
    """The violations for people: '/pointer: message; ...' ('/' for the entity itself)."""
    return "; ".join(f"{v.pointer or '/'}: {v.message}" for v in violations)


def compile_model(source: SchemaSource, name: str) -> Model:
    """The model `name`, from documents the source has (see SchemaSource.fetch); SchemaUnavailable else."""
    if name.count("/") != 1 or not all(name.split("/")):
        raise SchemaUnavailable(f"{name}: a model is named <repo>/<Model>, such as dataModel.Parking/ParkingSpot")
    schema = source.document(schema_url(name))
    validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True, retriever=source.document)
    terms = build_term_map(context_url(name), lambda url: builtin_document(url) or source.document(url))
    return Model(name, terms.expand(name.rsplit("/", 1)[-1]), terms, validator)


def _pointer(path: Any) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)
