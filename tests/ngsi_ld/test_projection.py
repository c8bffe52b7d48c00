"""The attribute projection language of pick and omit (clause 4.21), and the options it gives linked entities."""

from __future__ import annotations

import pytest

from ngsi_ld.errors import BadRequestData
from ngsi_ld.projection import Projected, parse_projection, projected, projection_depth
from ngsi_ld.render import RenderOptions

VOCAB = "https://example.org/"


def expand(name: str) -> str:
    return VOCAB + name


def test_members_are_separated_by_comma_or_bar_and_may_project_linked_entities() -> None:
    assert parse_projection("id,name|locatedAt{id,name}") == (
        Projected("id"), Projected("name"), Projected("locatedAt", (Projected("id"), Projected("name"))))
    assert parse_projection("a{b{c},d}") == (
        Projected("a", (Projected("b", (Projected("c"),)), Projected("d"))),)


def test_depth_counts_the_levels_of_linked_entities() -> None:
    assert projection_depth(parse_projection("id,name")) == 0
    assert projection_depth(parse_projection("a{b},c{d{e}}")) == 2
    assert projection_depth(None) == 0


@pytest.mark.parametrize("text", ["", "a,", ",a", "a{", "a}", "a{b", "a{}", "id{a}", "a b", "a{b}c", "a,,b"])
def test_malformed_projections_are_bad_request_data(text: str) -> None:
    with pytest.raises(BadRequestData):
        parse_projection(text)


def test_pick_gives_linked_entities_their_nested_projection_or_the_same_one() -> None:
    options = projected(RenderOptions(format="keyValues", attrs=frozenset({expand("a")})),
                        parse_projection("id,a{name},b"), None, expand)
    assert options.pick == frozenset({"id", expand("a"), expand("b")})
    through_a = options.for_linked(expand("a"))
    assert (through_a.pick, through_a.attrs, through_a.format) == (frozenset({expand("name")}), None, "keyValues")
    through_b = options.for_linked(expand("b"))
    assert through_b.pick == options.pick and through_b.attrs is None


def test_omit_with_braces_keeps_the_relationship_and_omits_in_the_linked_entities() -> None:
    options = projected(RenderOptions(), None, parse_projection("type,a{name}"), expand)
    assert options.omit == frozenset({"type"})
    assert options.for_linked(expand("a")).omit == frozenset({expand("name")})
