"""The batch entity operations: create, upsert, update, merge, delete (clauses 5.6.7-5.6.10, 5.6.20, 6.14-6.18).

Each entity of a batch is checked on its own and becomes one change of the store, and the whole batch is
written in one transaction: an entity is stored whole or not at all, and a bad entity only adds an item to
the errors of the BatchOperationResult (clause 5.2.16). Entities are applied in the order of the array, so
an id given twice is written twice, the second time over what the first made of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broker.http import Payload, empty_response, json_response, read_batch, read_ids, tenant_of, with_tenant
from broker.representation import csv_param
from broker.store import Change, Outcome, creation
from ngsi_ld.entity import Entity, Fragment, check_entity_id, parse_entity, parse_fragment
from ngsi_ld.errors import BadRequestData, NgsiLdError, ResourceNotFound
from ngsi_ld.updates import UpdateResult, append_attributes, merge_entity, new_entity, replace_entity
from ngsi_ld.values import utc_now

__all__ = ["BatchResult", "batch_response", "deletion", "record", "routes", "upsertion"]


@dataclass(slots=True)
class BatchResult:
    """The BatchOperationResult of clause 5.2.16: ids that succeeded, and an error per entity that did not."""

    success: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)

    def fail(self, entity_id: str, error: NgsiLdError) -> None:
        self.errors.append({"entityId": entity_id, "error": error.problem()})


async def create(request: Request) -> Response:
    now = utc_now()

    def change(payload: Payload) -> Change:
        return creation(new_entity(parse_entity(payload.body, payload.terms), now))

    result = await _write(request, change, create_tenant=True)
    if result.errors:
        return batch_response(request, result)
    return json_response(result.success, status=201, headers=with_tenant(request, {}))


async def upsert(request: Request) -> Response:
    """Creates the new entities, and replaces (options=replace, the default) or updates (options=update, as
    Append Entity Attributes does) the others (clause 5.6.8)."""
    options = _options(request, {"replace", "update"})
    if len(options) > 1:
        raise BadRequestData("'options' takes one of 'replace' and 'update', not both")
    updating, now = "update" in options, utc_now()

    def change(payload: Payload) -> Change:
        return upsertion(parse_entity(payload.body, payload.terms), now, updating=updating)

    result = await _write(request, change, create_tenant=True)
    if result.errors:
        return batch_response(request, result)
    if result.created:
        return json_response(result.created, status=201, headers=with_tenant(request, {}))
    return empty_response(request)


async def update(request: Request) -> Response:
    """Appends the attributes of each entity to the stored one, as Append Entity Attributes does; with
    options=noOverwrite, existing attributes are kept, and an entity that kept some is an error of the
    result that names them, as the NotUpdatedDetails of a single append do (clause 5.6.9, 5.2.18)."""
    overwrite, now = "noOverwrite" not in _options(request, {"noOverwrite"}), utc_now()
    outcomes: list[tuple[str, UpdateResult]] = []

    def change(payload: Payload) -> Change:
        fragment, outcome = _fragment(payload), UpdateResult()
        outcomes.append((payload.body["id"], outcome))

        def append(stored: Entity) -> None:
            outcome.not_updated[:] = append_attributes(stored, fragment, now, overwrite=overwrite).not_updated
        return _existing(payload.body["id"], append)

    result = await _write(request, change)
    for entity_id, outcome in outcomes:
        if outcome.not_updated and entity_id in result.success:
            result.success.remove(entity_id)
            result.fail(entity_id, _NotUpdated(outcome))
    return batch_response(request, result)


async def merge(request: Request) -> Response:
    """Merges each entity into the stored one, as Merge Entity does (clause 5.6.20)."""
    now = utc_now()

    def change(payload: Payload) -> Change:
        fragment = _fragment(payload, nulls=True)
        return _existing(payload.body["id"], lambda stored: merge_entity(stored, fragment, now))

    return batch_response(request, await _write(request, change))


async def delete(request: Request) -> Response:
    """Deletes the entities whose ids the body lists (clause 5.6.10)."""
    ids = await read_ids(request)
    changes, result = [], BatchResult()
    for entity_id in ids:
        try:
            check_entity_id(entity_id)
        except NgsiLdError as error:
            result.fail(entity_id, error)
            continue
        changes.append(deletion(entity_id))
    await record(request, changes, result)
    return batch_response(request, result)


class _NotUpdated(BadRequestData):
    """Attributes of an entity that a batch update left as they were (noOverwrite)."""

    title = "Attributes not updated"

    def __init__(self, outcome: UpdateResult) -> None:
        super().__init__("Not updated: " + ", ".join(name for name, _ in outcome.not_updated))
        self.not_updated = outcome.not_updated

    def problem(self) -> dict[str, Any]:
        details = [{"attributeName": name, "reason": reason} for name, reason in self.not_updated]
        return {**super().problem(), "notUpdated": details}


def upsertion(entity: Entity, now: str, *, updating: bool = False) -> Change:
    """The change that creates an entity, or replaces (or, `updating`, appends to) the stored one."""
    fragment = Fragment(entity["attrs"], entity["type"], entity.get("scope"))
    created = new_entity(entity, now)  # stamps the fragment's instances too, as replacing or appending would

    def apply(stored: Entity | None) -> Entity:
        if stored is None:
            return created
        if updating:
            append_attributes(stored, fragment, now)
        else:
            replace_entity(stored, fragment, now)
        return stored
    return Change(entity["id"], apply, created, replaces=True)


def deletion(entity_id: str) -> Change:
    """The change that deletes an entity (ResourceNotFound when there is none)."""
    return _existing(entity_id, lambda stored: None, keep=False)


def batch_response(request: Request, result: BatchResult) -> Response:
    """204 when every entity succeeded, else 207 with the BatchOperationResult."""
    if not result.errors:
        return empty_response(request)
    content = {"success": result.success, "errors": result.errors}
    return json_response(content, status=207, headers=with_tenant(request, {}))


async def _write(request: Request, change: Callable[[Payload], Change], *, create_tenant: bool = False) -> BatchResult:
    """Turns each entity of the body into a change, writes them all, and gathers what became of each."""
    items = await read_batch(request)
    changes, result = [], BatchResult()
    for body, item in items:
        raw_id = body.get("id")
        entity_id = raw_id if isinstance(raw_id, str) else ""
        try:
            if isinstance(item, NgsiLdError):
                raise item
            changes.append(change(item))
        except NgsiLdError as error:
            result.fail(entity_id, error)
    await record(request, changes, result, create_tenant=create_tenant)
    return result


async def record(request: Request, changes: list[Change], result: BatchResult, *, create_tenant: bool = False) -> None:
    """Writes the changes in one transaction and adds the outcome of each to `result`; BadRequestData when the
    tenant is not a valid name, even when no entity of the batch was valid."""
    tenant = tenant_of(request)
    if not changes:
        return
    outcomes = await request.app.state.store.write(tenant, changes, create_tenant=create_tenant)
    for change, outcome in zip(changes, outcomes, strict=True):
        _add(result, change.entity_id, outcome)


def _add(result: BatchResult, entity_id: str, outcome: Outcome) -> None:
    if outcome.error is not None:
        result.fail(entity_id, outcome.error)
    elif entity_id not in result.success:
        result.success.append(entity_id)
        if not outcome.existed:
            result.created.append(entity_id)


def _existing(entity_id: str, change: Callable[[Entity], object], *, keep: bool = True) -> Change:
    """A change of a stored entity (ResourceNotFound when there is none); `keep` False deletes it."""

    def apply(stored: Entity | None) -> Entity | None:
        if stored is None:
            raise ResourceNotFound(f"Entity '{entity_id}' does not exist")
        change(stored)
        return stored if keep else None
    return Change(entity_id, apply)


def _fragment(payload: Payload, *, nulls: bool = False) -> Fragment:
    """The attributes of an entity of an update or merge batch, which needs an id and a type (clause 6.3.5)."""
    body = payload.body
    check_entity_id(body.get("id"))
    if body.get("type") is None:
        raise BadRequestData("An entity needs a 'type'")
    return parse_fragment(body, payload.terms, entity_id=body["id"], nulls=nulls)


def _options(request: Request, allowed: set[str]) -> set[str]:
    options = set(csv_param(request, "options") or ())
    unknown = sorted(options - allowed)
    if unknown:
        raise BadRequestData(f"Unsupported value(s) of 'options' here: {', '.join(unknown)}")
    return options


routes = [
    Route("/entityOperations/create", create, methods=["POST"]),
    Route("/entityOperations/upsert", upsert, methods=["POST"]),
    Route("/entityOperations/update", update, methods=["POST"]),
    Route("/entityOperations/merge", merge, methods=["POST"]),
    Route("/entityOperations/delete", delete, methods=["POST"]),
]
