"""The rows an entity offers to queries, and the rows an update changes (computed from the attributes that differ
alone when the entity keeps its attributes and instances)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ngsi_ld.context import build_term_map
from ngsi_ld.entity import Entity, parse_entity
from ngsi_ld.query.targets import changed_rows, entity_rows
from ngsi_ld.updates import new_entity

TERMS = build_term_map(None, lambda url: None)
NOW = "2026-01-01T00:00:00.000000Z"
LATER = "2026-01-02T00:00:00.000000Z"
NAMES = ("speed", "name", "owner")

scalars = st.one_of(st.integers(-3, 3), st.sampled_from(["a", "b"]), st.booleans())
values = st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.sampled_from(["k", "m"]), scalars,
                                                                            max_size=2))


def _instance(value: Any, dataset: int | None, sub: Any | None) -> dict[str, Any]:
    return {"type": "Property", "value": value, **({"datasetId": f"urn:d:{dataset}"} if dataset else {}),
            **({"accuracy": {"type": "Property", "value": sub}} if sub is not None else {})}


# One instance per datasetId: the default one, urn:d:1, urn:d:2; some with a sub-attribute.
instances = st.lists(st.tuples(values, st.one_of(st.none(), scalars)), min_size=1, max_size=3).map(
    lambda items: [_instance(value, dataset, sub) for dataset, (value, sub) in enumerate(items)])
shapes = st.fixed_dictionaries({}, optional={name: instances for name in NAMES})


def entity(attrs: dict[str, Any], scope: list[str], when: str = NOW) -> Entity:
    raw = {"id": "urn:ngsi-ld:Thing:1", "type": "Thing", **({"scope": scope} if scope else {}),
           **{name: items[0] if len(items) == 1 else items for name, items in attrs.items()}}
    return new_entity(parse_entity(raw, TERMS), when)


def _with_new_values(attrs: dict[str, Any], draw: st.DrawFn) -> dict[str, Any]:
    """The same attributes and instances, some of them with other values."""
    changed = {}
    for name, items in attrs.items():
        changed[name] = [_instance(draw(values), dataset, None if "accuracy" not in item else draw(scalars))
                         if draw(st.booleans()) else item
                         for dataset, item in enumerate(items)]
    return changed


@st.composite
def same_shape_updates(draw: st.DrawFn) -> tuple[Entity, Entity]:
    attrs = draw(shapes)
    scopes = st.lists(st.sampled_from(["/A", "/B/C"]), max_size=2, unique=True)
    before = entity(attrs, draw(scopes))
    after = entity(_with_new_values(attrs, draw), draw(scopes), LATER)
    return before, after


def _applied(before: Entity, after: Entity) -> set[Any]:
    changed = changed_rows(before, after)
    assert changed is not None
    removed, added = changed
    rows_before = set(entity_rows(before))
    assert removed <= rows_before and not added & rows_before
    return (rows_before - removed) | added


@settings(max_examples=200, deadline=None)
@given(same_shape_updates())
def test_the_changed_rows_of_an_update_of_values_lead_to_the_rows_of_the_new_entity(
        versions: tuple[Entity, Entity]) -> None:
    before, after = versions
    assert _applied(before, after) == set(entity_rows(after))


@settings(max_examples=100, deadline=None)
@given(shapes, shapes)
def test_any_update_either_gives_the_changed_rows_or_asks_for_all(first: dict[str, Any],
                                                                  second: dict[str, Any]) -> None:
    before, after = entity(first, []), entity(second, ["/A"], LATER)
    if changed_rows(before, after) is not None:
        assert _applied(before, after) == set(entity_rows(after))


def test_an_attribute_of_another_instance_count_asks_for_all_rows() -> None:
    one = entity({"speed": [_instance(1, None, None)], "name": [_instance("a", None, None)]}, [])
    two = entity({"speed": [_instance(1, None, None), _instance(2, 1, None)], "name": [_instance("a", None, None)]},
                 [])
    with_sub = entity({"speed": [_instance(1, None, 5)], "name": [_instance("a", None, None)]}, [])
    assert changed_rows(one, two) is None and changed_rows(one, with_sub) is None
    assert changed_rows(one, entity({"name": [_instance("a", None, None)], "speed": [_instance(1, None, None)]},
                                    [])) is None  # another order numbers the instances otherwise
