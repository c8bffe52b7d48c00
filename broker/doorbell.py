"""A doorbell for the leading worker: the other workers ring it after they record changes to notify.

Without it the leader finds the changes of the other workers at its next look (notification_poll), which
made the tail latency of notifications grow with the number of workers. The bell is a datagram socket
that only the leader binds, named after the data directory (in Linux's abstract namespace: no file to
clean up); a ring when no worker listens is lost, and the leader's poll finds the changes instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import sys
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

__all__ = ["Doorbell"]

log = logging.getLogger("scifi.notifier")


class _Listener(asyncio.DatagramProtocol):
    def __init__(self, ring: Callable[[], None]) -> None:
        self._ring = ring

    def datagram_received(self, data: bytes, addr: object) -> None:
        self._ring()


class Doorbell:
    def __init__(self, data_dir: Path) -> None:
        digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:32]
        self._address = f"\0scifi-notifier-{digest}" if sys.platform == "linux" else str(data_dir / "notifier.sock")
        self._listening: asyncio.DatagramTransport | None = None
        self._sender: socket.socket | None = None

    async def listen(self, ring: Callable[[], None]) -> None:
        """Calls `ring` at every ring, until `close`."""
        if not self._address.startswith("\0"):
            with suppress(FileNotFoundError):
                Path(self._address).unlink()
        bell = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            bell.bind(self._address)
            bell.setblocking(False)
            self._listening, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: _Listener(ring), sock=bell)
        except OSError as error:
            bell.close()
            log.info("no doorbell (%s): the notifier finds other workers' changes by polling", error.strerror)

    def close(self) -> None:
        if self._listening is not None:
            self._listening.close()
            self._listening = None

    def ring(self) -> None:
        try:
            if self._sender is None:
                self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._sender.setblocking(False)
            self._sender.sendto(b"!", self._address)
        except OSError:
            pass  # nobody listens, or the bell is full of rings already: the leader polls
