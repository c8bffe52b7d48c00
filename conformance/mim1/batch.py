"""Batch operations: create, upsert, update, merge, delete (5.6.7 to 5.6.10, 5.6.20)."""

from __future__ import annotations

from typing import Any

from conformance.client import Reply
from conformance.mim1.common import entity_path, prop, thing, value_of
from conformance.registry import check
from conformance.trial import Trial


async def _batch(t: Trial, operation: str, payload: list[Any], **params: str) -> Reply:
    return await t.post(f"/entityOperations/{operation}", json=payload, params=params or None)


def _own(t: Trial, *entities: dict[str, Any]) -> None:
    for entity in entities:
        t.owns(entity_path(entity["id"]))


async def _two(t: Trial) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two entities created one by one."""
    first, second = thing(t, "Batch", speed=prop(1)), thing(t, "Batch", speed=prop(2))
    await t.create(first)
    await t.create(second)
    return first, second


async def _value(t: Trial, entity_id: str, attribute: str) -> Any:
    return value_of(((await t.get(entity_path(entity_id))).json() or {}).get(attribute))


@check("batch.create.ok", "5.6.7", "Batch create answers 201 with the ids of the created entities")
async def create_ok(t: Trial) -> None:
    entities = [thing(t, "Batch", speed=prop(1)), thing(t, "Batch", speed=prop(2))]
    _own(t, *entities)
    reply = await _batch(t, "create", entities)
    t.expect_status(reply, 201, "5.6.7: 201 Created when every entity is created")
    t.expect(set(reply.json() or []) == {e["id"] for e in entities}, "5.6.7: the body lists the created ids",
             f"body: {reply.body[:300]!r}")


@check("batch.create.partial", "5.6.7", "Batch create with an existing id answers 207 with success and errors")
async def create_partial(t: Trial) -> None:
    existing, _ = await _two(t)
    fresh = thing(t, "Batch", speed=prop(3))
    _own(t, fresh)
    reply = await _batch(t, "create", [fresh, existing])
    t.expect_status(reply, 207, "5.6.7: 207 Multi-Status when some entities are not created")
    body = t.expect_json(reply, dict, "5.2.16: a BatchOperationResult")
    t.expect(body.get("success") == [fresh["id"]] and [e.get("entityId") for e in body.get("errors", [])]
             == [existing["id"]], "5.2.16: success lists the created, errors the others", f"body: {body}")


@check("batch.create.error_problem", "5.6.7", "Each error of a batch result carries a ProblemDetails")
async def create_error_problem(t: Trial) -> None:
    existing, _ = await _two(t)
    reply = await _batch(t, "create", [existing])
    errors = (reply.json() or {}).get("errors") or [{}] if isinstance(reply.json(), dict) else [{}]
    error = errors[0].get("error") or {}
    t.expect(reply.status in (207, 409) and str(error.get("type", "")).endswith("AlreadyExists"),
             "5.2.17: BatchEntityError holds entityId and error (ProblemDetails, AlreadyExists)", f"errors: {errors}")


@check("batch.create.invalid_entity", "5.6.7", "An entity without type in a batch is reported, the others created")
async def create_invalid_entity(t: Trial) -> None:
    good = thing(t, "Batch", speed=prop(1))
    _own(t, good)
    reply = await _batch(t, "create", [good, {"id": t.new_id("Batch")}])
    t.expect_status(reply, (207, 400), "5.6.7: an invalid entity is reported (207), or the request refused (400)")
    if reply.status == 207:
        t.expect((reply.json() or {}).get("success") == [good["id"]], "5.6.7: the valid entity is created",
                 f"body: {reply.body[:300]!r}")


@check("batch.create.not_array", "5.6.7", "A batch body that is not an array answers 400")
async def create_not_array(t: Trial) -> None:
    reply = await t.post("/entityOperations/create", json=thing(t, "Batch"))
    t.expect_problem(reply, 400, "BadRequestData", "InvalidRequest")


@check("batch.upsert.created", "5.6.8", "Batch upsert of new entities answers 201 with their ids")
async def upsert_created(t: Trial) -> None:
    entities = [thing(t, "Batch", speed=prop(1))]
    _own(t, *entities)
    reply = await _batch(t, "upsert", entities)
    t.expect_status(reply, 201, "5.6.8: 201 when entities are created")
    t.expect(reply.json() == [entities[0]["id"]], "5.6.8: the body lists the created ids", f"body: {reply.body!r}")


@check("batch.upsert.existing", "5.6.8", "Batch upsert of existing entities answers 204")
async def upsert_existing(t: Trial) -> None:
    first, second = await _two(t)
    reply = await _batch(t, "upsert", [{**first, "speed": prop(10)}, {**second, "speed": prop(20)}])
    t.expect_status(reply, 204, "5.6.8: 204 when every entity existed and was updated")
    t.expect(await _value(t, first["id"], "speed") == 10, "5.6.8: the entity is updated")


@check("batch.upsert.replace", "5.6.8", "Batch upsert replaces an existing entity by default")
async def upsert_replace(t: Trial) -> None:
    first, _ = await _two(t)
    await _batch(t, "upsert", [{"id": first["id"], "type": first["type"], "colour": prop("red")}])
    body = (await t.get(entity_path(first["id"]))).json() or {}
    t.expect("speed" not in body and "colour" in body, "5.6.8: without options=update the entity is replaced",
             f"members: {sorted(body)}")


@check("batch.upsert.update", "5.6.8", "Batch upsert with options=update keeps the other attributes")
async def upsert_update(t: Trial) -> None:
    first, _ = await _two(t)
    await _batch(t, "upsert", [{"id": first["id"], "type": first["type"], "colour": prop("red")}], options="update")
    body = (await t.get(entity_path(first["id"]))).json() or {}
    t.expect("speed" in body and "colour" in body, "5.6.8: with options=update attributes are added",
             f"members: {sorted(body)}")


@check("batch.update.ok", "5.6.9", "Batch update answers 204 and updates each entity")
async def update_ok(t: Trial) -> None:
    first, second = await _two(t)
    reply = await _batch(t, "update", [{"id": first["id"], "type": first["type"], "speed": prop(5)},
                                       {"id": second["id"], "type": second["type"], "speed": prop(6)}])
    t.expect_status(reply, 204, "5.6.9: 204 when every entity is updated")
    t.expect(await _value(t, second["id"], "speed") == 6, "5.6.9: the attributes are updated")


@check("batch.update.missing", "5.6.9", "Batch update of an unknown entity answers 207 naming it")
async def update_missing(t: Trial) -> None:
    first, _ = await _two(t)
    missing = t.new_id("Batch")
    reply = await _batch(t, "update", [{"id": first["id"], "type": first["type"], "speed": prop(5)},
                                       {"id": missing, "type": first["type"], "speed": prop(6)}])
    t.expect_status(reply, 207, "5.6.9: 207 when an entity cannot be updated")
    body = reply.json() or {}
    t.expect([e.get("entityId") for e in body.get("errors", [])] == [missing] and body.get("success") == [first["id"]],
             "5.2.16: the unknown entity is in errors, the other in success", f"body: {body}")


@check("batch.update.no_overwrite", "5.6.9", "Batch update with options=noOverwrite keeps existing attributes")
async def update_no_overwrite(t: Trial) -> None:
    first, _ = await _two(t)
    await _batch(t, "update", [{"id": first["id"], "type": first["type"], "speed": prop(9), "name": prop("n")}],
                 options="noOverwrite")
    body = (await t.get(entity_path(first["id"]))).json() or {}
    t.expect(value_of(body.get("speed")) == 1 and "name" in body, "5.6.9: existing attributes are not overwritten",
             f"entity: {body}")


@check("batch.merge.ok", "5.6.20", "Batch merge answers 204 and merges each entity")
async def merge_ok(t: Trial) -> None:
    first, second = await _two(t)
    reply = await _batch(t, "merge", [{"id": first["id"], "type": first["type"], "name": prop("m")},
                                      {"id": second["id"], "type": second["type"], "speed": prop(7)}])
    t.expect_status(reply, 204, "5.6.20: 204 when every entity is merged")
    body = (await t.get(entity_path(first["id"]))).json() or {}
    t.expect("speed" in body and value_of(body.get("name")) == "m", "5.6.20: merged attributes are added, the others "
             "kept", f"entity: {body}")


@check("batch.delete.ok", "5.6.10", "Batch delete answers 204 and deletes each entity")
async def delete_ok(t: Trial) -> None:
    first, second = await _two(t)
    reply = await _batch(t, "delete", [first["id"], second["id"]])
    t.expect_status(reply, 204, "5.6.10: 204 when every entity is deleted")
    gone = await t.get(entity_path(first["id"]))
    t.expect_status(gone, 404, "5.6.10: a deleted entity is gone")


@check("batch.delete.missing", "5.6.10", "Batch delete of an unknown id answers 207 naming it")
async def delete_missing(t: Trial) -> None:
    first, _ = await _two(t)
    missing = t.new_id("Batch")
    reply = await _batch(t, "delete", [first["id"], missing])
    t.expect_status(reply, 207, "5.6.10: 207 when an entity cannot be deleted")
    body = reply.json() or {}
    error = (body.get("errors") or [{}])[0]
    t.expect(error.get("entityId") == missing and str((error.get("error") or {}).get("type", "")).endswith(
        "ResourceNotFound"), "5.2.17: the unknown id is in errors with ResourceNotFound", f"body: {body}")


@check("batch.upsert.mixed", "5.6.8", "Batch upsert of new and existing entities answers 201 listing only the new")
async def upsert_mixed(t: Trial) -> None:
    existing, _ = await _two(t)
    fresh = thing(t, "Batch", speed=prop(3))
    _own(t, fresh)
    reply = await _batch(t, "upsert", [existing, fresh])
    t.expect_status(reply, 201, "5.6.8: 201 when some entities are created")
    t.expect(reply.json() == [fresh["id"]], "5.6.8: the body lists only the created ids", f"body: {reply.body!r}")


@check("batch.delete.not_ids", "5.6.10", "A batch delete body that is not an array of ids answers 400")
async def delete_not_ids(t: Trial) -> None:
    reply = await t.post("/entityOperations/delete", json=[1, 2])
    t.expect_problem(reply, 400, "BadRequestData", "InvalidRequest")
