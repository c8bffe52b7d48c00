"""What the run shows while it goes: on a terminal one line per area with a bar, redrawn in place; otherwise a
plain line per finished area."""

from __future__ import annotations

from collections import Counter
from typing import TextIO

from conformance.registry import AREAS, Check
from conformance.runner import FAILED, NOT_OFFERED, Result

__all__ = ["AreaProgress"]

BAR = 24


class AreaProgress:
    def __init__(self, stream: TextIO, checks: list[Check]) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.totals = Counter(check.area for check in checks)
        self.areas = [area for area in AREAS if self.totals[area]]
        self.done: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.not_offered: Counter[str] = Counter()
        self.drawn = False

    def __call__(self, result: Result) -> None:
        area = result.check.area
        self.done[area] += 1
        self.failed[area] += result.outcome == FAILED
        self.not_offered[area] += result.outcome == NOT_OFFERED
        if self.live:
            self._redraw()
        elif self.done[area] == self.totals[area]:
            self.stream.write(self._line(area) + "\n")
            self.stream.flush()

    def message(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def _line(self, area: str) -> str:
        total, done = self.totals[area], self.done[area]
        filled = BAR * done // total
        bar = "#" * filled + "." * (BAR - filled)
        failed = f", {self.failed[area]} failed" if self.failed[area] else ""
        absent = f", {self.not_offered[area]} not offered" if self.not_offered[area] else ""
        return f"{AREAS[area]:<34} [{bar}] {done:>3}/{total}{failed}{absent}"

    def _redraw(self) -> None:
        if self.drawn:
            self.stream.write(f"\x1b[{len(self.areas)}F")
        for area in self.areas:
            self.stream.write("\x1b[2K" + self._line(area) + "\n")
        self.stream.flush()
        self.drawn = True
