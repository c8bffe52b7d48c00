"""The query languages of NGSI-LD, parsed once into an AST (`ast`), evaluated in Python (`evaluate`) or
compiled by each store; `targets` defines the values an entity offers to a query."""

from ngsi_ld.query.ast import And, Compare, Exists, Literal, Node, Not, Or, Path, Pattern, Range, ScopeMatch
from ngsi_ld.query.evaluate import matches, rows_by_path
from ngsi_ld.query.q import parse_q
from ngsi_ld.query.scope import parse_scope_q, scope_matches
from ngsi_ld.query.selection import EntitySelector, Selection
from ngsi_ld.query.targets import Row, entity_rows

__all__ = [
    "And", "Compare", "EntitySelector", "Exists", "Literal", "Node", "Not", "Or", "Path", "Pattern", "Range", "Row",
    "ScopeMatch", "Selection", "entity_rows", "matches", "parse_q", "parse_scope_q", "rows_by_path", "scope_matches",
]
