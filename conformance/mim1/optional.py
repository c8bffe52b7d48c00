"""Optional features: reported "not offered" when the broker lacks them, checked when it has them."""

from __future__ import annotations

from conformance.registry import check
from conformance.trial import Trial


@check("optional.temporal.query", "5.7.4", "Query Temporal Evolution of Entities answers 200 (temporal API)",
       writes=False)
async def temporal_query(t: Trial) -> None:
    reply = await t.get("/temporal/entities", params={"type": t.type("Thing"), "timerel": "after",
                                                      "timeAt": "2020-01-01T00:00:00Z"})
    t.offered(reply, "the temporal API (5.6.11-5.6.16, 5.7.3, 5.7.4)")
    t.expect_status(reply, 200, "5.7.4: Query Temporal Evolution answers 200")


@check("optional.registrations.query", "5.10.2", "Query Context Source Registrations answers 200", writes=False)
async def registrations_query(t: Trial) -> None:
    reply = await t.get("/csourceRegistrations", params={"type": t.type("Thing")})
    t.offered(reply, "context source registrations (5.9, 5.10)")
    t.expect_status(reply, 200, "5.10.2: Query Context Source Registrations answers 200")
    t.expect_json(reply, list, "5.10.2: a JSON array")


@check("optional.registrations.subscriptions", "5.11.5", "Query Context Source Registration Subscriptions answers 200",
       writes=False)
async def registration_subscriptions(t: Trial) -> None:
    reply = await t.get("/csourceSubscriptions")
    t.offered(reply, "context source registration subscriptions (5.11)")
    t.expect_status(reply, 200, "5.11.5: answers 200")


@check("optional.mqtt.subscription", "5.8.1", "A subscription with an MQTT endpoint is accepted (MQTT notifications)")
async def mqtt_subscription(t: Trial) -> None:
    body = {"type": "Subscription", "entities": [{"type": t.type("Mqtt")}],
            "notification": {"endpoint": {"uri": f"mqtt://127.0.0.1:1883/cf{t.run}", "accept": "application/json"}}}
    reply, _ = await t.subscribe(body)
    t.offered(reply, "MQTT notifications (annex F)")
    t.expect_status(reply, 201, "5.8.1: Create Subscription answers 201")


@check("optional.periodic.subscription", "5.8.1", "A subscription with timeInterval is accepted (periodic "
                                                  "notifications)")
async def periodic_subscription(t: Trial) -> None:
    body = {"type": "Subscription", "entities": [{"type": t.type("Periodic")}], "timeInterval": 3600,
            "notification": {"endpoint": {"uri": "http://127.0.0.1:9/never", "accept": "application/json"}}}
    reply, _ = await t.subscribe(body)
    t.offered(reply, "periodic notifications (timeInterval)")
    t.expect_status(reply, 201, "5.8.1: Create Subscription answers 201")
