"""The integer ids of the attribute paths of table attr_values (table path_ids), kept in memory once committed.

An id names a path for ever (rows are never deleted), so a cached id never goes stale, also when other
processes add paths. The paths of metadata and sub-attributes (holding the separator) get negative ids,
the others positive ones: only the latter are in the index by value.
"""

from __future__ import annotations

import sqlite3

from ngsi_ld.query.ast import SEPARATOR

__all__ = ["PathIds"]

_SELECT = "SELECT id FROM path_ids WHERE iri = ?"
_INSERT_BY_VALUE = "INSERT INTO path_ids (id, iri) VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM path_ids), ?)"
_INSERT_PROBED = "INSERT INTO path_ids (id, iri) VALUES ((SELECT COALESCE(MIN(id), 0) - 1 FROM path_ids), ?)"


class PathIds:
    """The ids of one file's paths. Ids added inside a transaction are kept apart until it commits: a rollback
    (of the transaction or of a savepoint) may take them back."""

    def __init__(self) -> None:
        self._committed: dict[str, int] = {}
        self._added: dict[str, int] = {}

    def id(self, connection: sqlite3.Connection, iri: str) -> int:
        """The path's id, added to the table when it has none (inside the connection's write transaction)."""
        found = self._committed.get(iri)
        if found is None:
            found = self._added.get(iri)
            if found is None:
                found = self._added[iri] = _stored_id(connection, iri)
        return found

    def settled(self, committed: bool) -> None:
        """Called when the transaction that may have added ids ends, or a savepoint of it is rolled back."""
        if committed:
            self._committed.update(self._added)
        self._added.clear()


def _stored_id(connection: sqlite3.Connection, iri: str) -> int:
    row = connection.execute(_SELECT, (iri,)).fetchone()
    if row is None:
        connection.execute(_INSERT_PROBED if SEPARATOR in iri else _INSERT_BY_VALUE, (iri,))
        row = connection.execute(_SELECT, (iri,)).fetchone()
    return int(row[0])
