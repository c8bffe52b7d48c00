"""Compiled Smart Data Models: a model's schema as a jsonschema-rs validator (draft 2020-12, formats checked),
with the @context of its subject, which maps entity types and attribute names to IRIs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from ngsi_ld.context import TermMap, build_term_map, builtin_document
from smart_data_models.source import SchemaSource, SchemaUnavailable, context_url, schema_url

__all__ = ["Model", "Violation", "compile_model", "described"]


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
        return sorted((Violation(_pointer(error.instance_path), error.message)
                       for error in self.validator.iter_errors(key_values)), key=lambda v: (v.pointer, v.message))


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
