"""The values an entity offers to queries: one row per (path, instance, kind, value).

The store keeps these rows as its query index and the Python evaluator computes them on the fly: both
consumers of the AST read the same rows, so they can only differ in how they apply an operator.

    ("https://.../speed", 0, "exists", "Property")
    ("https://.../speed", 0, "number", 80)
    ("https://.../speed|observedAt", 0, "datetime", "2026-11-27T08:00:00.000000Z")
    ("https://.../address[city]", 0, "string", "Mechelen")
    ("https://.../street[nl]", 0, "string", "Grote Markt")
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, NamedTuple

from ngsi_ld.entity import Entity
from ngsi_ld.query.ast import SEPARATOR
from ngsi_ld.query.q import METADATA
from ngsi_ld.query.values import normalized_datetime, scalar_kinds

__all__ = [
    "INDEXED_METADATA", "RELATIONSHIP_KINDS", "Row", "SCOPE_PATH", "SYSTEM_TIMES", "changed_rows", "entity_rows",
    "system_time_values",
]

SCOPE_PATH = "@scope"
RELATIONSHIP_KINDS = frozenset({"Relationship", "ListRelationship"})
_DATETIME_MEMBERS = frozenset({"observedAt", "createdAt", "modifiedAt"})
SYSTEM_TIMES = frozenset({"createdAt", "modifiedAt"})
"""The metadata members that the broker writes on every instance."""
INDEXED_METADATA = METADATA - SYSTEM_TIMES
"""The metadata members with rows in a store that reads the system times from its documents
(`system_time_values`)."""


class Row(NamedTuple):
    path: str
    instance: int
    kind: str
    value: Any
    relationship: bool = False
    """Relationship objects: only == and != apply to them (clause 4.9)."""


def entity_rows(entity: Entity, members: frozenset[str] = METADATA) -> list[Row]:
    """The entity's rows, with those of the metadata `members` (of every metadata member unless told)."""
    rows = _scope_rows(entity)
    counter = iter(range(1 << 62))
    for name, instances in entity["attrs"].items():
        for instance in instances:
            rows.extend(_attribute_rows(name, instance, counter, members))
    return rows


def system_time_values(entity: Entity, path: str) -> list[tuple[str, Any]]:
    """The (kind, value) of the rows of `path` when it names a member of SYSTEM_TIMES (`a|b|createdAt`), rows
    that `entity_rows` gives unless told to leave them out, read from the entity."""
    *names, member = path.split(SEPARATOR)
    instances: list[dict[str, Any]] = entity["attrs"].get(names[0], []) if names else []
    for name in names[1:]:
        instances = [sub for instance in instances for sub in instance.get("attrs", {}).get(name, ())]
    rows = (_metadata_row(path, 0, member, instance[member]) for instance in instances if member in instance)
    return [(row.kind, row.value) for row in rows]


def changed_rows(before: Entity, after: Entity,
                 members: frozenset[str] = METADATA) -> tuple[set[Row], set[Row]] | None:
    """The rows that `before` has and `after` has not, and those that `after` adds (with the metadata `members`),
    computed from the attributes that differ alone; None when the attributes or their instances are not the same
    in number and order (the instances are numbered through the entity, so the rows of every attribute after such
    a change differ)."""
    old_attrs, new_attrs = before["attrs"], after["attrs"]
    if list(old_attrs) != list(new_attrs):
        return None
    removed: set[Row] = set()
    added: set[Row] = set()
    first = 0
    for name, instances in new_attrs.items():
        count = _instance_count(instances)
        old_instances = old_attrs[name]
        if instances != old_instances:
            if _instance_count(old_instances) != count:
                return None
            removed.update(_rows_of(name, old_instances, first, members))
            added.update(_rows_of(name, instances, first, members))
        first += count
    if before.get("scope") != after.get("scope"):
        removed.update(_scope_rows(before))
        added.update(_scope_rows(after))
    return removed - added, added - removed


def _scope_rows(entity: Entity) -> list[Row]:
    return [Row(SCOPE_PATH, 0, "scope", scope) for scope in entity.get("scope", ())]


def _rows_of(name: str, instances: list[dict[str, Any]], first: int, members: frozenset[str]) -> Iterator[Row]:
    counter = itertools.count(first)
    for instance in instances:
        yield from _attribute_rows(name, instance, counter, members)


def _instance_count(instances: list[dict[str, Any]]) -> int:
    """The numbers that the instances and their sub-attributes' instances take."""
    return sum(1 + sum(_instance_count(sub) for sub in instance.get("attrs", {}).values()) for instance in instances)


def _attribute_rows(path: str, instance: dict[str, Any], counter: Iterator[int],
                    members: frozenset[str]) -> Iterator[Row]:
    number = next(counter)
    attribute_type = instance["type"]
    yield Row(path, number, "exists", attribute_type)
    yield from _value_rows(path, number, attribute_type, instance)
    for member in members:
        if member in instance:
            yield _metadata_row(path + SEPARATOR + member, number, member, instance[member])
    for sub_name, sub_instances in instance.get("attrs", {}).items():
        for sub_instance in sub_instances:
            yield from _attribute_rows(path + SEPARATOR + sub_name, sub_instance, counter, members)


def _value_rows(path: str, number: int, attribute_type: str, instance: dict[str, Any]) -> Iterator[Row]:
    if attribute_type in ("Property", "JsonProperty", "ListProperty"):
        value = instance.get("value", instance.get("json", instance.get("valueList")))
        yield from _json_rows(path, number, value)
    elif attribute_type in RELATIONSHIP_KINDS:
        objects = instance.get("object", instance.get("objectList"))
        for obj in objects if isinstance(objects, list) else [objects]:
            yield Row(path, number, "string", obj, relationship=True)
    elif attribute_type == "VocabProperty":
        vocab = instance["vocab"]
        for iri in vocab if isinstance(vocab, list) else [vocab]:
            yield Row(path, number, "vocab", iri)
    elif attribute_type == "LanguageProperty":
        for tag, texts in instance["languageMap"].items():
            for text in texts if isinstance(texts, list) else [texts]:
                yield Row(path, number, "string", text)
                yield Row(f"{path}[{tag}]", number, "string", text)


def _json_rows(path: str, number: int, value: Any, members: str = "") -> Iterator[Row]:
    """Rows of a value: scalars, each item of an array, and every member of an object as path[a.b]."""
    if isinstance(value, dict):
        if "@value" in value:
            yield from _json_rows(path, number, value["@value"], members)
            return
        for key, member in value.items():
            inner = f"{members}.{key}" if members else key
            yield Row(f"{path}[{inner}]", number, "exists", "member")
            yield from _json_rows(path, number, member, inner)
        return
    target = f"{path}[{members}]" if members else path
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            yield from _json_rows(path, number, item, members)
        else:
            for kind, comparable in scalar_kinds(item):
                yield Row(target, number, kind, comparable)


def _metadata_row(path: str, number: int, member: str, value: Any) -> Row:
    """One row per member: its existence is that of the row. DateTime members (always valid DateTimes, as
    the broker checks or writes them) compare as DateTimes; unitCode and datasetId as strings."""
    if member in _DATETIME_MEMBERS:
        normalized = normalized_datetime(value)
        if normalized is not None:
            return Row(path, number, "datetime", normalized)
    return Row(path, number, "string", value)
