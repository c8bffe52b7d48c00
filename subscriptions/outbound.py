"""The guard of every request the broker makes to a URL that a user gave: notification endpoints (HTTP(S), MQTT(S))
and remote @contexts (broker/contexts.py). It stops server-side request forgery: a subscription or a @context
that would make the broker call the cloud metadata service, or a place the operator closed.

A URL is checked twice. When it is given (`check`: its scheme, its host name, and each address the name resolves
to), so that the client gets a 400 at once; and when it is used, on the address actually connected to: the
aiohttp connector of `connector` resolves through the guard (a name whose addresses are all refused fails, the
refused ones are dropped) and its socket factory refuses to open a socket to a denied address whatever the path
that led there, and MQTT connects to an address that `addresses` resolved and checked. So a name that resolved
to a good address when it was given, and to the metadata address later (DNS rebinding), is never connected to.

Link-local and cloud metadata addresses are always refused (ALWAYS_DENIED); everything else is allowed unless
the operator's lists say otherwise: a deny list (hosts, CIDRs, schemes) and an allow list (when it names hosts or
CIDRs, only those are reached; when it names schemes, only those are used). Deny wins over allow.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

__all__ = ["ALWAYS_DENIED", "OutboundPolicy", "OutboundRefused", "Rules", "open_resolver", "parse_rules",
           "parse_server", "refusal_of"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ALWAYS_DENIED = ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254", "metadata.google.internal")
"""Link-local addresses (where clouds serve instance metadata and credentials: AWS, Azure, GCP, OpenStack...),
AWS's IPv6 metadata address and Google's metadata host name: never a notification endpoint or a @context."""

_HOST = re.compile(r"(\*\.)?[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:")
_RESOLVE_SECONDS = 5.0


class OutboundRefused(OSError):
    """A URL or an address that the broker may not call; its message says why, for people."""


@dataclass(frozen=True, slots=True)
class Rules:
    """Hosts (exact names, or `.example.org` for its subdomains), networks and schemes of an allow or deny list."""

    hosts: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    networks: tuple[Network, ...] = ()
    schemes: frozenset[str] = frozenset()

    @property
    def destinations(self) -> bool:
        """Whether the list names any host or network."""
        return bool(self.hosts or self.suffixes or self.networks)

    def names(self, host: str) -> bool:
        return host in self.hosts or host.endswith(self.suffixes)

    def holds(self, address: Address) -> bool:
        return any(address in network for network in self.networks)


def parse_rules(text: str) -> Rules:
    """The rules of a comma-separated list of entries: `scheme:`, a CIDR or an address, a host name or
    `*.domain`. ValueError names the first entry that is none of these."""
    hosts, suffixes, networks, schemes = set(), [], [], set()
    for entry in (item.strip().lower() for item in text.split(",")):
        if not entry:
            continue
        if _SCHEME.fullmatch(entry):
            schemes.add(entry[:-1])
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        name = entry.rstrip(".")
        if not _HOST.fullmatch(name) or len(name) > 253:
            raise ValueError(f"'{entry}' is not a host name, a *.domain, a CIDR or a scheme (written 'mqtt:')")
        if name.startswith("*."):
            suffixes.append(name[1:])
        else:
            hosts.add(name)
    return Rules(frozenset(hosts), tuple(suffixes), tuple(networks), frozenset(schemes))


def _unmapped(address: Address) -> Address:
    """An IPv4-mapped IPv6 address (::ffff:169.254.169.254) as the IPv4 address the system connects to."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _host_of(url: str) -> tuple[str, str, int | None]:
    """The scheme, the host (lower case, no trailing dot) and the port of a URL."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme.lower(), (parts.hostname or "").rstrip("."), port


class OutboundPolicy:
    """The allow and deny lists of the operator with the addresses always refused, and the resolver of names."""

    def __init__(self, allow: Rules | None = None, deny: Rules | None = None,
                 resolver: AbstractResolver | None = None) -> None:
        """`resolver`: the system's when None."""
        always, deny = parse_rules(",".join(ALWAYS_DENIED)), deny or Rules()
        self.allow = allow or Rules()
        self.deny = Rules(deny.hosts | always.hosts, deny.suffixes, (*always.networks, *deny.networks), deny.schemes)
        self._resolver = resolver

    async def aclose(self) -> None:
        if self._resolver is not None:
            await self._resolver.close()

    def address_refusal(self, address: Address, *, host_allowed: bool = False) -> str | None:
        """Why the broker may not connect to `address` (None: it may); `host_allowed`: the allow list names the
        host the address is of."""
        address = _unmapped(address)
        if self.deny.holds(address):
            return f"the address {address} is refused (link-local, cloud metadata or denied by the broker's settings)"
        if self.allow.destinations and not host_allowed and not self.allow.holds(address):
            return f"the address {address} is not in the broker's list of allowed destinations"
        return None

    def name_refusal(self, scheme: str, host: str) -> str | None:
        """Why a URL of this scheme and host may not be called, before its host is resolved (None: it may)."""
        if scheme in self.deny.schemes or (self.allow.schemes and scheme not in self.allow.schemes):
            return f"the scheme '{scheme}' is refused by the broker's settings"
        if self.deny.names(host):
            return f"the host '{host}' is refused (cloud metadata or denied by the broker's settings)"
        address = _literal(host)
        if address is not None:
            return self.address_refusal(address)
        if self.allow.destinations and not self.allow.names(host) and not self.allow.networks:
            return f"the host '{host}' is not in the broker's list of allowed destinations"
        return None

    def check_now(self, url: str) -> None:
        """OutboundRefused when the scheme or host of `url` (an address written in it too) is refused; what a
        name resolves to is checked when it is connected to."""
        scheme, host, _ = _host_of(url)
        reason = self.name_refusal(scheme, host)
        if reason is not None:
            raise OutboundRefused(reason)

    async def check(self, url: str) -> None:
        """OutboundRefused when `url` may not be called: its scheme, host, or any address its host resolves to
        now. A name that does not resolve passes: a receiver may not exist yet, and its use will fail anyway."""
        self.check_now(url)
        _, host, port = _host_of(url)
        if host and _literal(host) is None:
            try:
                await self.addresses(host, port or 0, every=True)
            except OutboundRefused:
                raise
            except OSError:
                pass

    async def addresses(self, host: str, port: int, *, every: bool = False) -> list[ResolveResult]:
        """The addresses of `host` that may be connected to; OutboundRefused when none may (with `every`: when
        any is denied), OSError when it does not resolve."""
        literal = _literal(host)
        if literal is not None:
            reason = self.address_refusal(literal)
            if reason is not None:
                raise OutboundRefused(reason)
            family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
            return [{"hostname": host, "host": str(literal), "port": port, "family": family, "proto": 0,
                     "flags": socket.AI_NUMERICHOST}]
        host = host.rstrip(".").lower()
        if self.deny.names(host):
            raise OutboundRefused(f"the host '{host}' is refused (cloud metadata or denied by the broker's settings)")
        if self._resolver is None:
            self._resolver = aiohttp.ThreadedResolver()
        resolved = await self._resolver.resolve(host, port, socket.AF_UNSPEC)
        if not resolved:
            raise OSError(f"'{host}' does not resolve")
        host_allowed = self.allow.names(host)
        kept: list[ResolveResult] = []
        refusals: list[str] = []
        for result in resolved:
            address = ipaddress.ip_address(result["host"])
            reason = self.address_refusal(address, host_allowed=host_allowed)
            if reason is None:
                kept.append(result)
            elif every and self.deny.holds(_unmapped(address)):
                raise OutboundRefused(f"'{host}' resolves to a refused address: {reason}")
            else:
                refusals.append(reason)
        if not kept:
            raise OutboundRefused(f"'{host}' resolves to no address that may be used: {refusals[0]}")
        return kept

    def connector(self, **options: Any) -> aiohttp.TCPConnector:
        """An aiohttp connector that resolves names through the guard and opens no socket to a denied address."""
        return aiohttp.TCPConnector(resolver=_GuardedResolver(self), socket_factory=self._socket, **options)

    def _socket(self, addr_info: Any) -> socket.socket:
        family, kind, proto, _, address = addr_info
        reason = self.address_refusal(ipaddress.ip_address(address[0]), host_allowed=True)
        if reason is not None:
            raise OutboundRefused(reason)
        return socket.socket(family=family, type=kind, proto=proto)


class _GuardedResolver(AbstractResolver):
    """What aiohttp resolves names with: the policy's addresses (the refused ones left out)."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        return await self._policy.addresses(host, port)

    async def close(self) -> None:
        pass


class _DnsServerResolver(AbstractResolver):
    """Resolves names by asking one DNS server (the `resolver` setting), with dnspython, rather than the system."""

    def __init__(self, host: str, port: int) -> None:
        import dns.asyncresolver

        self._resolver = dns.asyncresolver.Resolver(configure=False)
        self._resolver.nameservers = [host]
        self._resolver.port = port
        self._resolver.lifetime = _RESOLVE_SECONDS

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        import dns.exception

        kinds = {socket.AF_INET: ("A",), socket.AF_INET6: ("AAAA",)}.get(family, ("A", "AAAA"))
        results: list[ResolveResult] = []
        for kind in kinds:
            try:
                answer = await self._resolver.resolve(host, kind, search=False)
            except dns.exception.DNSException:
                continue
            inet = socket.AF_INET if kind == "A" else socket.AF_INET6
            results += [{"hostname": host, "host": record.to_text(), "port": port, "family": inet, "proto": 0,
                         "flags": socket.AI_NUMERICHOST} for record in answer]
        if not results:
            raise OSError(f"'{host}' does not resolve")
        return results

    async def close(self) -> None:
        pass


def open_resolver(server: str) -> AbstractResolver | None:
    """A resolver that asks the DNS server `<address>[:<port>]` (port 53 by default); None (the system's) for ""."""
    if not server:
        return None
    host, port = parse_server(server)
    return _DnsServerResolver(host, port)


def parse_server(server: str) -> tuple[str, int]:
    """The address and port of `<IPv4>[:<port>]` or `[<IPv6>][:<port>]`; ValueError when it is neither."""
    match = re.fullmatch(r"\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?|([0-9.]+)(?::(\d{1,5}))?", server)
    if match is None:
        raise ValueError("not <IPv4 address>[:<port>] or [<IPv6 address>][:<port>]")
    host, port = match.group(1) or match.group(3), int(match.group(2) or match.group(4) or 53)
    ipaddress.ip_address(host)
    if not 0 < port < 65536:
        raise ValueError("a port is a whole number from 1 to 65535")
    return host, port


def refusal_of(exc: BaseException) -> OutboundRefused | None:
    """The refusal of the guard that caused `exc` (aiohttp wraps it in its connection errors), if any."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        if isinstance(current, OutboundRefused):
            return current
        seen.add(id(current))
        pending += [current.__cause__, current.__context__, getattr(current, "os_error", None)]
        if isinstance(current, BaseExceptionGroup):
            pending += list(current.exceptions)
    return None
