"""What a check works with: requests that keep their evidence, expectations that fail with what the clause
requires, and data made under the run's unique id prefix and removed afterwards."""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from conformance.client import BrokerClient, Exchange, Reply
from conformance.receiver import Receiver
from conformance.registry import CheckFailed, NotOffered

__all__ = ["CONTEXT_NAME", "ERRORS", "Session", "Trial", "VOCAB"]

ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
VOCAB = "https://conformance.example.org/ns#"
"""The IRIs of the terms of the checker's own @context."""
CONTEXT_NAME = "conformance.jsonld"
NOT_OFFERED_STATUSES = (404, 405, 422, 501)
"""Statuses by which a broker says it lacks an optional operation (422 is OperationNotSupported)."""

T = TypeVar("T")


@dataclass
class Session:
    """What the checks of one run share: the broker, the receiver, the run's prefix, the made data."""

    client: BrokerClient
    receiver: Receiver | None
    context_url: str
    terms: dict[str, str]
    """Terms of the context at `context_url` and the IRIs they expand to."""
    notify_timeout: float = 5.0
    run: str = field(default_factory=lambda: secrets.token_hex(4))
    datasets: dict[str, Any] = field(default_factory=dict)
    leftovers: list[tuple[str, str | None]] = field(default_factory=list)
    """Paths (entities, subscriptions) to delete at the end, with their tenant."""
    _counter: int = 0

    @property
    def prefix(self) -> str:
        """Every entity id the run makes contains this."""
        return f"cf{self.run}-"

    def new_id(self, kind: str) -> str:
        self._counter += 1
        return f"urn:ngsi-ld:{kind}:{self.prefix}{self._counter}"

    def type(self, name: str) -> str:
        """A type name no other data of the broker uses."""
        return f"Cf{self.run}{name}"

    def tenant(self, name: str) -> str:
        return f"cf{self.run}{name}"


class Trial:
    """One check's run: its exchanges (the evidence) and the data it made (removed after it)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.exchanges: list[Exchange] = []
        self.notes: list[str] = []
        self._made: list[tuple[str, str | None]] = []

    # names

    @property
    def run(self) -> str:
        return self.session.run

    def new_id(self, kind: str = "Thing") -> str:
        return self.session.new_id(kind)

    def type(self, name: str) -> str:
        return self.session.type(name)

    @property
    def receiver(self) -> Receiver:
        if self.session.receiver is None:
            raise NotOffered("the checker's notification receiver is not running")
        return self.session.receiver

    # requests

    async def request(self, method: str, path: str, **options: Any) -> Reply:
        reply, exchange = await self.session.client.request(method, path, **options)
        self.exchanges.append(exchange)
        if reply is None:
            raise CheckFailed("the broker must answer", f"no reply: {exchange.error}")
        return reply

    async def get(self, path: str, **options: Any) -> Reply:
        return await self.request("GET", path, **options)

    async def post(self, path: str, **options: Any) -> Reply:
        return await self.request("POST", path, **options)

    async def patch(self, path: str, **options: Any) -> Reply:
        return await self.request("PATCH", path, **options)

    async def put(self, path: str, **options: Any) -> Reply:
        return await self.request("PUT", path, **options)

    async def delete(self, path: str, **options: Any) -> Reply:
        return await self.request("DELETE", path, **options)

    # data the check makes

    def owns(self, path: str, tenant: str | None = None) -> None:
        """Deletes `path` (an entity or a subscription) after the check."""
        self._made.append((path, tenant))

    async def create(self, entity: dict[str, Any], *, tenant: str | None = None,
                     headers: dict[str, str] | None = None, json_ld: bool = False) -> Reply:
        """Creates `entity` (201 required) and removes it after the check."""
        sent = dict(headers or {})
        if json_ld:
            sent["Content-Type"] = "application/ld+json"
        reply = await self.post("/entities", json=entity, tenant=tenant, headers=sent)
        if reply.status == 201:
            self.owns(f"/entities/{entity['id']}", tenant)
        self.expect_status(reply, 201, "5.6.1: Create Entity answers 201 Created")
        return reply

    async def subscribe(self, subscription: dict[str, Any], *, tenant: str | None = None,
                        headers: dict[str, str] | None = None) -> tuple[Reply, str | None]:
        """Creates a subscription; returns the reply and its id (None unless 201), removed after the check."""
        reply = await self.post("/subscriptions", json=subscription, tenant=tenant, headers=headers)
        if reply.status != 201:
            return reply, None
        location = reply.header("location") or ""
        sub_id = subscription.get("id") or location.rstrip("/").rpartition("/")[2]
        self.owns(f"/subscriptions/{sub_id}", tenant)
        return reply, str(sub_id)

    async def dataset(self, name: str, make: Callable[[Trial], Awaitable[T]]) -> T:
        """Data several checks read, made once per run by `make` (its data removed at the end of the run)."""
        if name not in self.session.datasets:
            maker = Trial(self.session)
            try:
                self.session.datasets[name] = await make(maker)
            finally:
                self.session.leftovers.extend(maker._made)
                self.exchanges.extend(maker.exchanges)
        return self.session.datasets[name]  # type: ignore[no-any-return]

    async def clean(self) -> None:
        for path, tenant in reversed(self._made):
            await self.session.client.request("DELETE", path, tenant=tenant)
        self._made.clear()

    # expectations

    def expect(self, condition: object, requirement: str, observed: str = "") -> None:
        if not condition:
            raise CheckFailed(requirement, observed)

    def expect_status(self, reply: Reply, expected: int | tuple[int, ...], requirement: str) -> None:
        allowed = expected if isinstance(expected, tuple) else (expected,)
        if reply.status not in allowed:
            raise CheckFailed(requirement, f"status {reply.status}")

    def expect_problem(self, reply: Reply, status: int | tuple[int, ...], *types: str, requirement: str = "") -> None:
        """A ProblemDetails error (6.3.2, RFC 7807) of `status`, its type one of `types` (short names)."""
        wanted, statuses = " or ".join(types), " or ".join(map(str, status if isinstance(status, tuple) else [status]))
        requirement = requirement or f"the error must be {statuses} with a ProblemDetails body of type {wanted}"
        self.expect_status(reply, status, requirement)
        self.expect(reply.media_type in ("application/json", "application/problem+json", "application/ld+json"),
                    "6.3.2: an error body is ProblemDetails JSON", f"Content-Type {reply.header('content-type')}")
        problem = reply.json()
        self.expect(isinstance(problem, dict) and isinstance(problem.get("type"), str),
                    "5.5.2: an error body is a ProblemDetails object with a type", "body has no type member")
        assert isinstance(problem, dict)
        if types:
            self.expect(problem["type"] in {ERRORS + name for name in types}, requirement,
                        f"type {problem['type']}")

    def expect_json(self, reply: Reply, shape: builtins.type, requirement: str) -> Any:
        body = reply.json()
        self.expect(isinstance(body, shape), requirement, f"body is not a JSON {shape.__name__}")
        return body

    def offered(self, reply: Reply, feature: str) -> None:
        """NotOffered when `reply` says that the broker lacks the optional `feature`."""
        if reply.status in NOT_OFFERED_STATUSES or reply.status == 400 and _not_supported(reply):
            raise NotOffered(f"{feature}: the broker answered {reply.status}")


def _not_supported(reply: Reply) -> bool:
    body = reply.json()
    return isinstance(body, dict) and body.get("type") == ERRORS + "OperationNotSupported"
