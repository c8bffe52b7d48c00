from __future__ import annotations

from conformance.report import Report

__all__ = ["html_report"]


def html_report(report: Report) -> bytes:
    return b"<html></html>"
