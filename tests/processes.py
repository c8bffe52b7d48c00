"""Processes the tests start: a free loopback port for each, and a stop that always ends them."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

__all__ = ["child_pids", "free_port", "stop_process"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    """Sends `sig` to a process that still runs and waits until it has exited (killed after 20 s)."""
    if process is not None and process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def child_pids(process: subprocess.Popen[bytes]) -> list[int]:
    """The processes that `process` started (a broker's workers)."""
    return [int(pid) for pid in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()]
