"""A receiver that never comes back: after SCIFI_NOTIFICATION_MAX_ATTEMPTS attempts, or SCIFI_NOTIFICATION_DEAD_AFTER
seconds, its subscription's waiting notifications move to the dead letters; the subscription says how many;
`scifi deadletters` lists, replays (in order, with their ids) and purges them, while the broker runs."""

from __future__ import annotations

import io
import json
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from broker.cli import main
from subscriptions.model import epoch_seconds
from tests.broker.entity_helpers import unique_type
from tests.conftest import API, BrokerProcess, unique_id
from tests.notifications.conftest import ReceiverProcess, subscribe, unique_path, wait_until
from tests.notifications.test_durability import set_speed, speeds

QUICK = {"SCIFI_NOTIFICATION_RETRY": "0.1", "SCIFI_NOTIFICATION_RETRY_MAX": "0.2"}


def deadletters(store_url: str, action: str, *options: str) -> str:
    """What `scifi deadletters` prints (run in the test's process: it starts faster than a new interpreter)."""
    printed = io.StringIO()
    with redirect_stdout(printed):
        assert main(["deadletters", action, "--store", store_url, *options]) == 0
    return printed.getvalue()


def listed(store_url: str, *options: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in deadletters(store_url, "list", *options).splitlines()]


def notification_status(api: httpx.Client, subscription_id: str) -> dict[str, Any]:
    answer = api.get(f"/subscriptions/{quote(subscription_id, safe=':')}")
    assert answer.status_code == 200, answer.text
    status: dict[str, Any] = answer.json()["notification"]
    return status


def three_changes(api: httpx.Client, base_url: str, car: str) -> None:
    entity_id = unique_id(car)
    assert api.post("/entities", json={"id": entity_id, "type": car,
                                       "speed": {"type": "Property", "value": 1}}).status_code == 201
    for speed in (2, 3):
        set_speed(base_url, entity_id, speed)


def test_after_its_attempts_a_subscription_s_notifications_are_dead_letters_and_a_replay_delivers_them_in_order(
        tmp_path: Path, store_url: str, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    receiver.answer(path, status=500)
    env = {**QUICK, "SCIFI_STORE": store_url, "SCIFI_NOTIFICATION_MAX_ATTEMPTS": "3"}
    broker = BrokerProcess(tmp_path, env=env).start()
    try:
        with httpx.Client(base_url=broker.url + API, timeout=10) as api:
            subscription_id = subscribe(api, receiver.url(path), entities=[{"type": car}])
            other_id = subscribe(api, receiver.url(unique_path()), entities=[{"type": unique_type()}])
            three_changes(api, broker.url, car)
            wait_until(lambda: notification_status(api, subscription_id).get("deadLettered"), timeout=20)
            letters = wait_until(lambda: (lambda found: found if sum(letter["entities"] for letter in found) >= 3
                                          else None)(listed(store_url, "--subscription", subscription_id)),
                                 timeout=20)
            assert {letter["subscription"] for letter in letters} == {subscription_id}
            assert letters[0]["attempts"] == 3 and all(letter["tenant"] == "" for letter in letters)
            status = notification_status(api, subscription_id)
            assert status["status"] == "failed" and status["deadLettered"] == len(letters)
            assert status["timesFailed"] >= 3 and "lastFailure" in status
            assert "deadLettered" not in notification_status(api, other_id)
            patched = api.patch(f"/subscriptions/{quote(subscription_id, safe=':')}", json={"notification": status})
            assert patched.status_code == 204, "a notification as the broker shows it may be written back"
            assert notification_status(api, subscription_id)["deadLettered"] == len(letters)
            attempts = len(receiver.received(path, failed=True))
            time.sleep(1)
            assert len(receiver.received(path, failed=True)) == attempts, "a dead letter was still being sent"

            receiver.answer(path, status=200)
            assert deadletters(store_url, "replay", "--subscription", subscription_id).strip() == \
                f"replayed {len(letters)} dead letters"
            delivered = receiver.wait_for_entities(path, 3, timeout=20)
            assert speeds(delivered) == [1, 2, 3]
            delivered_ids = [item["body"]["id"] for item in delivered]
            assert delivered_ids[0] == letters[0]["notification"], "the one sent before keeps its id and comes first"
            assert set(delivered_ids) <= {letter["notification"] for letter in letters}
            assert listed(store_url) == []
            wait_until(lambda: notification_status(api, subscription_id)["status"] == "ok")
            assert "deadLettered" not in notification_status(api, subscription_id)
    finally:
        broker.stop()


def test_after_its_time_a_notification_is_a_dead_letter_and_a_purge_deletes_it(
        tmp_path: Path, store_url: str, receiver: ReceiverProcess) -> None:
    path, car = unique_path(), unique_type()
    receiver.answer(path, status=503)
    env = {**QUICK, "SCIFI_STORE": store_url, "SCIFI_NOTIFICATION_DEAD_AFTER": "1.5"}
    broker = BrokerProcess(tmp_path, env=env).start()
    try:
        with httpx.Client(base_url=broker.url + API, timeout=10) as api:
            subscription_id = subscribe(api, receiver.url(path), entities=[{"type": car}])
            three_changes(api, broker.url, car)
            wait_until(lambda: notification_status(api, subscription_id).get("deadLettered"), timeout=20)
            letters = listed(store_url)
            assert letters[0]["attempts"] >= 3, "retried with backoff until its time was up"
            assert epoch_seconds(letters[0]["deadAt"]) - epoch_seconds(letters[0]["notifiedAt"]) >= 1.5
            assert deadletters(store_url, "purge").strip() == f"purged {len(letters)} dead letters"
            assert listed(store_url) == []
            assert "deadLettered" not in notification_status(api, subscription_id)
            receiver.answer(path, status=200)
            assert deadletters(store_url, "replay").strip() == "replayed 0 dead letters"
            time.sleep(1)
            assert receiver.received(path) == []
    finally:
        broker.stop()
