"""Sending notifications: HTTP(S) through one pooled aiohttp session, MQTT(S) through one connection per
broker and client settings; each endpoint (scheme, host, port) has a limit of notifications in flight."""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
import aiomqtt
import orjson
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ngsi_ld.errors import failure
from subscriptions.model import Endpoint
from subscriptions.outbound import OutboundPolicy, refusal_of

__all__ = ["DeliveryError", "Notifiers"]

log = logging.getLogger("scifi.notifiers")

TENANT_HEADER = "NGSILD-Tenant"
_MQTT_PROTOCOLS = {"mqtt3.1.1": aiomqtt.ProtocolVersion.V311, "mqtt5.0": aiomqtt.ProtocolVersion.V5}


class DeliveryError(Exception):
    """A notification that the receiver did not take (no connection, timeout, an answer other than 2xx, or an
    endpoint that the outbound policy refuses)."""


class Notifiers:
    def __init__(self, timeout: float, per_endpoint: int, ca_file: str | None = None,
                 outbound: OutboundPolicy | None = None) -> None:
        """`ca_file`: certificate authorities (PEM) to trust beside the system's, for HTTPS and MQTTS; `outbound`:
        what endpoints may be called (by default: all but link-local and cloud metadata addresses)."""
        self._outbound = outbound or OutboundPolicy()
        self._ca_file = ca_file
        self._timeout = timeout
        self._per_endpoint = per_endpoint
        self._tls = ssl.create_default_context()
        if ca_file:
            self._tls.load_verify_locations(ca_file)
        self._limits: dict[tuple[str, str, int | None], asyncio.Semaphore] = {}
        self._session: aiohttp.ClientSession | None = None
        self._mqtt: dict[tuple[Any, ...], aiomqtt.Client] = {}

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
        for client in self._mqtt.values():
            await _disconnect(client)
        self._mqtt.clear()

    async def send(self, endpoint: Endpoint, body: bytes, headers: dict[str, str], tenant: str) -> None:
        """Delivers one notification; DeliveryError when it was not taken."""
        if tenant:
            headers = {**headers, TENANT_HEADER: tenant}
        parts = urlsplit(endpoint.uri)
        limit = self._limits.setdefault((parts.scheme, parts.hostname or "", parts.port),
                                        asyncio.Semaphore(self._per_endpoint))
        timeout = endpoint.timeout or self._timeout
        async with limit:
            try:
                self._outbound.check_now(endpoint.uri)
                if parts.scheme in ("http", "https"):
                    await self._post(endpoint.uri, body, headers, timeout)
                else:
                    await asyncio.wait_for(self._publish(endpoint, body, headers), timeout)
            except (TimeoutError, aiohttp.ClientError, aiomqtt.MqttError, OSError) as exc:
                refusal = refusal_of(exc)
                raise DeliveryError(f"refused: {refusal}" if refusal else failure(exc)) from exc

    async def _post(self, uri: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=self._outbound.connector(limit=0, ssl=self._tls))
        async with self._session.post(uri, data=body, headers=headers, allow_redirects=False,
                                      timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            await response.read()
            if not 200 <= response.status < 300:
                raise DeliveryError(f"HTTP {response.status}")

    async def _publish(self, endpoint: Endpoint, body: bytes, headers: dict[str, str]) -> None:
        """Publishes {"metadata": headers, "body": notification} (the MQTT binding of the spec); with MQTT 5
        the headers also go as user properties."""
        parts = urlsplit(endpoint.uri)
        version = endpoint.notifier("MQTT-Version", "mqtt3.1.1")
        key = (parts.scheme, parts.hostname, parts.port, parts.username, parts.password, version)
        client = self._mqtt.get(key)
        if client is None:
            host, port = parts.hostname or "", parts.port or (8883 if parts.scheme == "mqtts" else 1883)
            address = (await self._outbound.addresses(host, port))[0]["host"]
            client = aiomqtt.Client(
                address, port,
                username=unquote(parts.username) if parts.username else None,
                password=unquote(parts.password) if parts.password else None,
                protocol=_MQTT_PROTOCOLS[version],
                tls_context=self._named_tls(host) if parts.scheme == "mqtts" else None,
            )
            await client.__aenter__()
            self._mqtt[key] = client
        payload = b'{"metadata":' + orjson.dumps(headers) + b',"body":' + body + b"}"
        properties = None
        if version == "mqtt5.0":
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.ContentType = headers.get("Content-Type", "application/json")
            properties.UserProperty = list(headers.items())
        try:
            await client.publish(parts.path.lstrip("/"), payload, qos=int(endpoint.notifier("MQTT-QoS", "0")),
                                 properties=properties)
        except aiomqtt.MqttError:
            self._mqtt.pop(key, None)
            await _disconnect(client)
            raise

    def _named_tls(self, host: str) -> ssl.SSLContext:
        """A TLS context that checks the certificate against `host`, though the connection goes to its
        address (the one the outbound policy checked)."""
        tls = _NamedTLS(ssl.PROTOCOL_TLS_CLIENT)
        tls.server_name = host
        tls.load_default_certs()
        if self._ca_file:
            tls.load_verify_locations(self._ca_file)
        return tls


class _NamedTLS(ssl.SSLContext):
    server_name = ""

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["server_hostname"] = self.server_name
        return super().wrap_socket(sock, *args, **kwargs)


async def _disconnect(client: aiomqtt.Client) -> None:
    try:
        await client.__aexit__(None, None, None)
    except (aiomqtt.MqttError, OSError) as exc:
        log.debug("mqtt disconnect error=%r", exc)
