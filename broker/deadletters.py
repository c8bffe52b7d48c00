"""`scifi deadletters list|replay|purge`: what an operator does with the notifications that a receiver did not
take in time (SCIFI_NOTIFICATION_MAX_ATTEMPTS, SCIFI_NOTIFICATION_DEAD_AFTER). It works on the store directly,
while brokers run on it or not: a replay puts them back among the pending notifications, and the broker that
delivers picks them up from the log of changes."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import orjson

from broker.settings import SettingError, Settings
from broker.store import EntityStore, open_store
from ngsi_ld.errors import NgsiLdError, NonexistentTenant

__all__ = ["add_deadletters_parser", "deadletters_command"]


def add_deadletters_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("deadletters", help="list, replay or purge the dead letters of subscriptions",
                                 description="Notifications whose receiver did not take them in time wait as dead "
                                             "letters; `list` prints them (one JSON object a line), `replay` puts "
                                             "them back in the outbox in their order, `purge` deletes them.")
    parser.add_argument("action", choices=("list", "replay", "purge"))
    parser.add_argument("--tenant", help="only this tenant's (the default tenant is ''; default: every tenant)")
    parser.add_argument("--subscription", help="only this subscription's (its id)")
    parser.add_argument("--store", help="the store URL (SCIFI_STORE; default: sqlite://<data-dir>)")
    parser.add_argument("--data-dir", type=Path, help="the broker's data directory (SCIFI_DATA_DIR)")


def deadletters_command(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
    except SettingError as exc:
        print(f"scifi deadletters: {exc}", file=sys.stderr)
        return 2
    url = args.store or settings.store or f"sqlite://{args.data_dir or settings.data_dir}"
    try:
        asyncio.run(_act(url, args.action, args.tenant, args.subscription))
    except NgsiLdError as exc:
        print(f"scifi deadletters: {exc.detail}", file=sys.stderr)
        return 1
    return 0


async def _act(url: str, action: str, tenant: str | None, subscription_id: str | None) -> None:
    async with open_store(url) as store:
        tenants = await store.tenants() if tenant is None else [tenant]
        total = 0
        for name in tenants:
            try:
                total += await _act_on_tenant(store, action, name, subscription_id)
            except NonexistentTenant:
                if tenant is not None:
                    raise
        if action != "list":
            print(f"{'replayed' if action == 'replay' else 'purged'} {total} dead letters")


async def _act_on_tenant(store: EntityStore, action: str, tenant: str, subscription_id: str | None) -> int:
    if action == "replay":
        return await store.replay_dead_letters(tenant, subscription_id)
    if action == "purge":
        return await store.purge_dead_letters(tenant, subscription_id)
    for letter in await store.dead_letters(tenant, subscription_id):
        sys.stdout.write(orjson.dumps({
            "tenant": tenant, "subscription": letter.subscription_id, "notification": letter.notification_id,
            "notifiedAt": letter.notified_at, "deadAt": letter.dead_at, "attempts": letter.attempts,
            "entities": len(letter.data),
        }).decode() + "\n")
    return 0
