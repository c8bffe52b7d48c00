"""The write operations on a stored entity, as pure functions (clause 5.6).

Each function changes the entity it is given in place and stamps the system attributes with `now`;
the store runs it inside the transaction that read the entity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ngsi_ld.attributes import ATTRIBUTE_TYPES, NULL, Instances
from ngsi_ld.entity import Entity, Fragment
from ngsi_ld.errors import ResourceNotFound

__all__ = [
    "UpdateResult",
    "append_attributes",
    "delete_attribute",
    "merge_entity",
    "new_entity",
    "replace_attribute",
    "replace_entity",
    "update_attribute_partially",
    "update_attributes",
]


@dataclass(slots=True)
class UpdateResult:
    """Which attributes (expanded names) an operation changed, and why it left the others (clause 5.2.18)."""

    updated: list[str] = field(default_factory=list)
    not_updated: list[tuple[str, str]] = field(default_factory=list)


def new_entity(entity: Entity, now: str) -> Entity:
    """Stamps a freshly parsed entity for its creation."""
    entity["createdAt"] = entity["modifiedAt"] = now
    for instances in entity["attrs"].values():
        _stamp_all(instances, now)
    return entity


def append_attributes(entity: Entity, fragment: Fragment, now: str, *, overwrite: bool = True) -> UpdateResult:
    """Adds attributes (and types); existing instances are replaced unless `overwrite` is False (clause 5.6.3)."""
    result = UpdateResult()
    _add_types(entity, fragment)
    for name, instances in fragment.attrs.items():
        current = entity["attrs"].setdefault(name, [])
        clashes = [i for i in instances if _index(current, i.get("datasetId")) is not None]
        if clashes and not overwrite:
            result.not_updated.append((name, "Attribute already exists and noOverwrite was asked"))
            if not current:
                del entity["attrs"][name]
            continue
        for instance in instances:
            _put_instance(current, instance, now)
        result.updated.append(name)
    _touch(entity, result, now)
    return result


def update_attributes(entity: Entity, attrs: dict[str, Any], now: str) -> UpdateResult:
    """Replaces attribute instances that exist; the others are reported as not updated (clause 5.6.2)."""
    result = UpdateResult()
    for name, instances in attrs.items():
        current = entity["attrs"].get(name)
        if current is None or any(_index(current, i.get("datasetId")) is None for i in instances):
            result.not_updated.append((name, "Attribute (with this datasetId) does not exist"))
            continue
        for instance in instances:
            _put_instance(current, instance, now)
        result.updated.append(name)
    _touch(entity, result, now)
    return result


def merge_entity(entity: Entity, fragment: Fragment, now: str, observed_at: str | None = None) -> None:
    """Merges a fragment into the entity as JSON Merge Patch does (clause 5.6.17)."""
    _add_types(entity, fragment)
    if fragment.scope is not None:
        entity["scope"] = fragment.scope
    for name, instances in fragment.attrs.items():
        if instances == NULL:
            entity["attrs"].pop(name, None)
            continue
        current = entity["attrs"].setdefault(name, [])
        for instance in instances:
            position = _index(current, instance.get("datasetId"))
            if position is None:
                current.append(_stamp(_without_nulls(instance), now))
            else:
                current[position] = _merged(current[position], instance, now, observed_at)
    entity["modifiedAt"] = now


def replace_entity(entity: Entity, replacement: Fragment, now: str) -> None:
    """Replaces every attribute (and the types and scope given) of the entity (clause 5.6.18)."""
    entity["type"] = replacement.types or entity["type"]
    if replacement.scope is not None:
        entity["scope"] = replacement.scope
    else:
        entity.pop("scope", None)
    entity["attrs"] = replacement.attrs
    for instances in entity["attrs"].values():
        _stamp_all(instances, now)
    entity["modifiedAt"] = now


def update_attribute_partially(entity: Entity, name: str, fragment: dict[str, Any], now: str) -> None:
    """Changes only the members given of one attribute instance (clause 5.6.4)."""
    current = entity["attrs"].get(name)
    position = None if current is None else _index(current, fragment.get("datasetId"))
    if current is None or position is None:
        raise ResourceNotFound(f"Entity '{entity['id']}' has no attribute '{name}' with this datasetId")
    current[position] = _merged(current[position], fragment, now, None)
    entity["modifiedAt"] = now


def replace_attribute(entity: Entity, name: str, instances: Instances, now: str) -> None:
    """Replaces the instances of an existing attribute that the payload names (clause 5.6.19)."""
    current = entity["attrs"].get(name)
    if current is None:
        raise ResourceNotFound(f"Entity '{entity['id']}' has no attribute '{name}'")
    for instance in instances:
        _put_instance(current, instance, now)
    entity["modifiedAt"] = now


def delete_attribute(entity: Entity, name: str, dataset_id: str | None, delete_all: bool, now: str) -> None:
    """Deletes one instance of an attribute, or all of them (clause 5.6.5)."""
    current = entity["attrs"].get(name)
    if current is None:
        raise ResourceNotFound(f"Entity '{entity['id']}' has no attribute '{name}'")
    if delete_all:
        del entity["attrs"][name]
    else:
        position = _index(current, dataset_id)
        if position is None:
            which = f"datasetId '{dataset_id}'" if dataset_id else "a default instance (without datasetId)"
            raise ResourceNotFound(f"Attribute '{name}' has no instance with {which}")
        del current[position]
        if not current:
            del entity["attrs"][name]
    entity["modifiedAt"] = now


def _index(instances: Instances, dataset_id: str | None) -> int | None:
    for position, instance in enumerate(instances):
        if instance.get("datasetId") == dataset_id:
            return position
    return None


def _put_instance(current: Instances, instance: dict[str, Any], now: str) -> None:
    position = _index(current, instance.get("datasetId"))
    if position is None:
        current.append(_stamp(instance, now))
    else:
        current[position] = _stamp(instance, now, created=current[position].get("createdAt"))


def _merged(old: dict[str, Any], new: dict[str, Any], now: str, observed_at: str | None) -> dict[str, Any]:
    merged = dict(old)
    if "type" in new and new["type"] != old.get("type"):
        for key in set(ATTRIBUTE_TYPES.values()) | {"objectType"}:
            merged.pop(key, None)
    for key, member in new.items():
        if key != "attrs":
            merged[key] = member
    if observed_at and "observedAt" in old and "observedAt" not in new:
        merged["observedAt"] = observed_at
    subs = {**old.get("attrs", {})}
    for sub_name, sub_instances in new.get("attrs", {}).items():
        if sub_instances == NULL:
            subs.pop(sub_name, None)
        else:
            subs[sub_name] = [_stamp(_without_nulls(i), now) for i in sub_instances]
    merged.pop("attrs", None)
    if subs:
        merged["attrs"] = subs
    merged["modifiedAt"] = now
    merged.setdefault("createdAt", now)
    return merged


def _without_nulls(instance: dict[str, Any]) -> dict[str, Any]:
    subs = instance.get("attrs")
    if not subs:
        return instance
    kept = {name: [_without_nulls(i) for i in value] for name, value in subs.items() if value != NULL}
    cleaned = {key: member for key, member in instance.items() if key != "attrs"}
    if kept:
        cleaned["attrs"] = kept
    return cleaned


def _stamp(instance: dict[str, Any], now: str, created: str | None = None) -> dict[str, Any]:
    instance["createdAt"] = created or now
    instance["modifiedAt"] = now
    for sub_instances in instance.get("attrs", {}).values():
        _stamp_all(sub_instances, now)
    return instance


def _stamp_all(instances: Instances, now: str) -> None:
    for instance in instances:
        _stamp(instance, now)


def _add_types(entity: Entity, fragment: Fragment) -> None:
    if fragment.types:
        entity["type"] = list(dict.fromkeys([*entity["type"], *fragment.types]))


def _touch(entity: Entity, result: UpdateResult, now: str) -> None:
    if result.updated:
        entity["modifiedAt"] = now
