"""A DNS server for the tests, on UDP on loopback: it answers the A and AAAA queries of the names it is told,
each with the next address of its list (the last one stays), so that a name can change its address between two
look-ups (DNS rebinding); other names are NXDOMAIN."""

from __future__ import annotations

import ipaddress
import socket
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class DnsServer:
    def __init__(self) -> None:
        self._answers: dict[str, list[str]] = {}
        self.queries: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.1)
        self._running = True
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        """The server as the `resolver` setting names it: <address>:<port>."""
        host, port = self._socket.getsockname()
        return f"{host}:{port}"

    def answer(self, name: str, *addresses: str) -> None:
        """From now on `name` resolves to the first of `addresses`, then to the next at each A (or AAAA) query."""
        with self._lock:
            self._answers[name.lower().rstrip(".")] = list(addresses)

    def close(self) -> None:
        self._running = False
        self._thread.join(timeout=5)
        self._socket.close()

    def _serve(self) -> None:
        while self._running:
            try:
                data, client = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            self._socket.sendto(self._response(data), client)

    def _response(self, data: bytes) -> bytes:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name, kind = question.name.to_text().lower().rstrip("."), dns.rdatatype.to_text(question.rdtype)
        with self._lock:
            self.queries.append((name, kind))
            addresses = self._answers.get(name)
            if addresses is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
                return response.to_wire()
            version = 4 if kind == "A" else 6
            if kind in ("A", "AAAA") and ipaddress.ip_address(addresses[0]).version == version:
                address = addresses.pop(0) if len(addresses) > 1 else addresses[0]
                response.answer.append(dns.rrset.from_text(question.name, 0, "IN", kind, address))
        return response.to_wire()
