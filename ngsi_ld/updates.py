"""The write operations on a stored entity, as pure functions (clause 5.6).

Each function changes the entity it is given in place and stamps the system attributes with `now`;
the store runs it inside the transaction that read the entity, so an error leaves the entity untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ngsi_ld.attributes import ATTRIBUTE_TYPES, NULL, VALUE_KEYS, Instances, has_nested_null, is_null_instance
from ngsi_ld.entity import Entity, Fragment
from ngsi_ld.errors import BadRequestData, ResourceNotFound
from ngsi_ld.geojson import check_geometry

__all__ = [
    "UpdateResult",
    "append_attributes",
    "delete_attribute",
    "delete_scope",
    "merge_entity",
    "new_entity",
    "replace_attribute",
    "replace_entity",
    "update_attribute_partially",
    "update_attributes",
]

_NOT_OVERWRITTEN = "Attribute (with this datasetId) already exists and noOverwrite was asked"
_NOT_FOUND = "Attribute (with this datasetId) does not exist"
_NO_SCOPE = "The entity has no scope to update"


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
    """Adds attributes, types and scopes; existing instances are replaced unless `overwrite` is False (5.6.3)."""
    result = UpdateResult()
    changed = _add_types(entity, fragment) | _append_scope(entity, fragment.scope, overwrite)
    for name, instances in fragment.attrs.items():
        current = entity["attrs"].setdefault(name, [])
        kept = [i for i in instances if overwrite or _index(current, i.get("datasetId")) is None]
        for instance in kept:
            _put_instance(current, instance, now)
        if kept:
            result.updated.append(name)
        if len(kept) < len(instances):
            result.not_updated.append((name, _NOT_OVERWRITTEN))
        if not current:
            del entity["attrs"][name]
    _touch(entity, changed or bool(result.updated), now)
    return result


def update_attributes(entity: Entity, fragment: Fragment, now: str) -> UpdateResult:
    """Replaces (or, given NGSI-LD Null, deletes) attribute instances that exist (clause 5.6.2, 5.5.8).

    Attributes without the targeted instance are left out and reported; types are added, and the scope is
    replaced only if the entity has one (else it is reported as not updated, as an absent attribute is).
    """
    result = UpdateResult()
    changed = _add_types(entity, fragment)
    if fragment.scope is not None and "scope" in entity:
        _set_scope(entity, fragment.scope)
        result.updated.append("scope")
    elif fragment.scope is not None:
        result.not_updated.append(("scope", _NO_SCOPE))
    for name, instances in fragment.attrs.items():
        current = entity["attrs"].get(name)
        if current is None or any(_index(current, i.get("datasetId")) is None for i in instances):
            result.not_updated.append((name, _NOT_FOUND))
            continue
        for instance in instances:
            _update_instance(name, current, instance, now)
        if not current:
            del entity["attrs"][name]
        result.updated.append(name)
    _touch(entity, changed or bool(result.updated), now)
    return result


def merge_entity(entity: Entity, fragment: Fragment, now: str, observed_at: str | None = None) -> None:
    """Merges a fragment into the entity, down to the members of JSON object values (clause 5.6.17, 5.5.12)."""
    _add_types(entity, fragment)
    if fragment.scope is not None:
        _set_scope(entity, fragment.scope)
    for name, instances in fragment.attrs.items():
        current = entity["attrs"].setdefault(name, [])
        for instance in instances:
            _patch_instance(current, instance, now, observed_at, deep=True)
        if not current:
            del entity["attrs"][name]
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
    """Changes only the members given of one attribute instance, whose type stays (clause 5.6.4)."""
    current = _instances_of(entity, name)
    position = _index(current, fragment.get("datasetId"))
    if position is None:
        raise ResourceNotFound(_missing_instance(name, fragment.get("datasetId")))
    _check_same_type(name, current[position], fragment)
    current[position] = _merged(current[position], fragment, now)
    entity["modifiedAt"] = now


def replace_attribute(entity: Entity, name: str, instances: Instances, now: str) -> None:
    """Replaces existing instances of an attribute, the default one or those the datasetIds name (5.6.19)."""
    current = _instances_of(entity, name)
    for instance in instances:
        if _index(current, instance.get("datasetId")) is None:
            raise ResourceNotFound(_missing_instance(name, instance.get("datasetId")))
    for instance in instances:
        _put_instance(current, instance, now)
    entity["modifiedAt"] = now


def delete_attribute(entity: Entity, name: str, dataset_id: str | None, delete_all: bool, now: str) -> None:
    """Deletes one instance of an attribute, or all of them (clause 5.6.5)."""
    current = _instances_of(entity, name)
    if delete_all:
        del entity["attrs"][name]
    else:
        position = _index(current, dataset_id)
        if position is None:
            raise ResourceNotFound(_missing_instance(name, dataset_id))
        del current[position]
        if not current:
            del entity["attrs"][name]
    entity["modifiedAt"] = now


def delete_scope(entity: Entity, now: str) -> None:
    """Removes the scope of the entity (Delete Attribute aimed at 'scope', clause 5.6.5)."""
    if "scope" not in entity:
        raise ResourceNotFound(f"Entity '{entity['id']}' has no scope")
    del entity["scope"]
    entity["modifiedAt"] = now


def _instances_of(entity: Entity, name: str) -> Instances:
    current: Instances | None = entity["attrs"].get(name)
    if current is None:
        raise ResourceNotFound(f"Entity '{entity['id']}' has no attribute '{name}'")
    return current


def _missing_instance(name: str, dataset_id: str | None) -> str:
    which = f"datasetId '{dataset_id}'" if dataset_id else "a default instance (without datasetId)"
    return f"Attribute '{name}' has no instance with {which}"


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


def _update_instance(name: str, current: Instances, instance: dict[str, Any], now: str) -> None:
    """Replaces the instance of `current` with the same datasetId, or deletes it if `instance` is Null."""
    if has_nested_null(instance.get("value")):
        raise BadRequestData(f"Attribute '{name}': NGSI-LD Null inside a value is allowed in merge only")
    _patch_instance(current, instance, now)


def _patch_instance(
    current: Instances, instance: dict[str, Any], now: str, observed_at: str | None = None, *, deep: bool = False
) -> None:
    """Applies a fragment's instance to the instances of an attribute (clause 5.5.8, with `deep` 5.5.12).

    A Null instance deletes the one with its datasetId; another one is added, or replaces (`deep`: is merged
    into) the one with its datasetId.
    """
    position = _index(current, instance.get("datasetId"))
    if is_null_instance(instance):
        if position is not None:
            del current[position]
    elif deep and position is not None:
        current[position] = _merged(current[position], instance, now, observed_at, deep=True)
    else:
        _put_instance(current, _without_nulls(instance), now)


def _check_same_type(name: str, old: dict[str, Any], fragment: dict[str, Any]) -> None:
    """A partial update cannot change the type of an attribute (clause 5.6.4)."""
    old_type = old["type"]
    value_key = ATTRIBUTE_TYPES[old_type]
    given = fragment.get("type", old_type)
    if given != old_type or any(key in fragment for key in VALUE_KEYS if key != value_key):
        raise BadRequestData(f"Attribute '{name}' is a {old_type}; a partial update cannot change its type")
    if old_type == "GeoProperty" and "value" in fragment:
        check_geometry(fragment["value"])


def _merged(
    old: dict[str, Any], new: dict[str, Any], now: str, observed_at: str | None = None, *, deep: bool = False
) -> dict[str, Any]:
    """`old` patched with the members of `new`; with `deep`, JSON object values are merged too (5.5.12)."""
    merged = dict(old)
    if new.get("type", old["type"]) != old["type"]:
        for key in set(ATTRIBUTE_TYPES.values()) | {"objectType"}:
            merged.pop(key, None)
    for key, member in new.items():
        if key == "attrs":
            continue
        if member == NULL and key not in VALUE_KEYS:
            merged.pop(key, None)
        elif deep and key == "value":
            merged[key] = _merge_patch(old.get(key), member)
        else:
            merged[key] = member
    if observed_at and "observedAt" in old and "observedAt" not in new:
        merged["observedAt"] = observed_at
    subs = _merged_sub_attributes(old.get("attrs", {}), new.get("attrs", {}), now, deep)
    merged.pop("attrs", None)
    if subs:
        merged["attrs"] = subs
    merged["modifiedAt"] = now
    merged.setdefault("createdAt", now)
    return merged


def _merged_sub_attributes(
    old: dict[str, Instances], new: dict[str, Instances], now: str, deep: bool
) -> dict[str, Instances]:
    subs = {name: list(instances) for name, instances in old.items()}
    for name, instances in new.items():
        current = subs.setdefault(name, [])
        for instance in instances:
            _patch_instance(current, instance, now, deep=deep)
        if not current:
            del subs[name]
    return subs


def _merge_patch(target: Any, patch: Any) -> Any:
    """JSON Merge Patch (IETF RFC 7396) with NGSI-LD Null in the place of JSON null."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, member in patch.items():
        if member == NULL:
            merged.pop(key, None)
        else:
            merged[key] = _merge_patch(merged.get(key), member)
    return merged


def _without_nulls(instance: dict[str, Any]) -> dict[str, Any]:
    """A new instance without the Null sub-attributes and Null members of its value (nothing to delete)."""
    cleaned = {key: member for key, member in instance.items() if key != "attrs" and member != NULL}
    if isinstance(cleaned.get("value"), dict):
        cleaned["value"] = _merge_patch({}, cleaned["value"])
    subs = {
        name: [_without_nulls(i) for i in instances if not is_null_instance(i)]
        for name, instances in instance.get("attrs", {}).items()
    }
    subs = {name: instances for name, instances in subs.items() if instances}
    if subs:
        cleaned["attrs"] = subs
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


def _add_types(entity: Entity, fragment: Fragment) -> bool:
    types = list(dict.fromkeys([*entity["type"], *(fragment.types or ())]))
    changed = bool(types != entity["type"])
    entity["type"] = types
    return changed


def _append_scope(entity: Entity, scope: list[str] | None, overwrite: bool) -> bool:
    if scope is None:
        return False
    _set_scope(entity, scope if overwrite else list(dict.fromkeys([*entity.get("scope", ()), *scope])))
    return True


def _set_scope(entity: Entity, scope: list[str]) -> None:
    """Sets the scope of the entity; an empty list (NGSI-LD Null in a fragment) deletes it."""
    if scope:
        entity["scope"] = scope
    else:
        entity.pop("scope", None)


def _touch(entity: Entity, changed: bool, now: str) -> None:
    if changed:
        entity["modifiedAt"] = now
