"""The DateTime strings the broker writes in system attributes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ngsi_ld.values import utc_now

_SYSTEM_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


def test_the_current_time_is_written_in_utc_to_the_microsecond_and_sorts_as_text() -> None:
    before = datetime.now(UTC)
    written = [utc_now() for _ in range(1000)]
    after = datetime.now(UTC)
    assert all(_SYSTEM_TIME.fullmatch(text) for text in written)
    assert written == sorted(written)
    assert before <= datetime.fromisoformat(written[0].replace("Z", "+00:00")) <= after
