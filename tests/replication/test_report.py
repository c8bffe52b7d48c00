"""The progress of a copy: a bar per type on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

from replication.report import Report


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_per_type_on_a_terminal() -> None:
    out, terminal = io.StringIO(), Terminal()
    report = Report(out, terminal)
    report.start("ParkingSpot", 200, 0)
    report.advance("ParkingSpot", 100)
    report.finish("ParkingSpot")
    report.start("ParkingGroup", 1, 0)
    report.finish("ParkingGroup")
    drawn = terminal.getvalue()
    assert "\rParkingSpot              [..............................] 0/200" in drawn
    assert "\rParkingSpot              [###############...............] 100/200\n" in drawn
    assert "\rParkingGroup             [..............................] 0/1" in drawn
    assert out.getvalue().startswith("ParkingSpot: 200 entities; created 0")


def test_plain_lines_elsewhere() -> None:
    out, log = io.StringIO(), io.StringIO()
    report = Report(out, log)
    report.start("ParkingSpot", 200, 50)
    report.advance("ParkingSpot", 100)
    assert log.getvalue().splitlines()[0] == "ParkingSpot: resuming after 50 of 200 entities"
    assert "\r" not in log.getvalue() and "#" not in log.getvalue()
    assert log.getvalue().splitlines()[1] == "ParkingSpot: 50/200 entities read"
