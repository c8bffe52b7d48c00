"""The broker's settings: one object, read from SCIFI_* environment variables (flags of `scifi serve` set them)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

__all__ = ["Settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    """Every limit and place the broker uses; each field is also the SCIFI_<FIELD> environment variable."""

    host: str = "0.0.0.0"
    port: int = 1026
    workers: int = 1
    data_dir: Path = Path("data")
    store: str = ""
    """Store URL; empty means the embedded store in data_dir (sqlite://<data_dir>)."""
    max_body_bytes: int = 8 * 1024 * 1024
    max_batch_size: int = 1000
    """Most entities in one batch operation (413 above)."""
    page_size: int = 20
    max_page_size: int = 1000
    max_join_level: int = 5
    """Deepest linked entity retrieval (joinLevel) a request or a subscription may ask for; each level is one
    store query (the specification sets no bound)."""
    context_timeout: float = 5.0
    context_cache_size: int = 512
    log_level: str = "info"
    sdm_config: str = ""
    """A TOML file whose [smart_data_models] table says which models each tenant uses, and the policies."""
    sdm_dir: str = ""
    """A local tree of the Smart Data Models; empty: the published URLs, cached under <data_dir>/sdm."""
    sdm_policy: str = ""
    """off, warn or enforce, for every tenant the configuration does not name (overrides the file's)."""
    sdm_models: str = ""
    """Models that every tenant uses, comma-separated (overrides the file's), e.g. dataModel.Parking/ParkingSpot."""
    sdm_url: str = "https://smart-data-models.github.io/"
    """Where the published models are fetched from when there is no local tree (a mirror, say)."""
    sdm_timeout: float = 10.0
    """Seconds to fetch one schema or context from the published URLs."""
    notification_timeout: float = 10.0
    """Seconds a notification may take before it counts as failed (an endpoint's own timeout overrides it)."""
    notification_concurrency: int = 8
    """Notifications in flight to one endpoint (scheme, host, port) at a time."""
    notification_gather: int = 100
    """Most pending notifications of one subscription sent together as one (their entities in one data array),
    when a receiver is behind."""
    notification_backlog: int = 10000
    """Most pending notifications of one subscription; beyond it the oldest are dropped."""
    notification_retry: float = 1.0
    """Seconds before the first retry of a failed notification; each further retry waits twice as long..."""
    notification_retry_max: float = 60.0
    """...up to this many seconds."""
    notification_ca_file: str = ""
    """A PEM file of certificate authorities that HTTPS and MQTTS endpoints may also be signed by."""
    notification_poll: float = 0.05
    """Seconds between looks for changes that other workers recorded."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        values = {}
        for field in fields(cls):
            raw = environ.get(f"SCIFI_{field.name.upper()}")
            if raw is not None:
                values[field.name] = _convert(field.name, raw, field.type)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def store_url(self) -> str:
        return self.store or f"sqlite://{self.data_dir}"

    def as_env(self) -> dict[str, str]:
        """The environment variables that recreate these settings in a worker process."""
        return {f"SCIFI_{field.name.upper()}": str(getattr(self, field.name)) for field in fields(self)}


def _convert(name: str, raw: str, kind: object) -> object:
    converters = {"int": int, "float": float, "Path": Path, "str": str}
    convert = converters[str(kind)]
    try:
        return convert(raw)
    except ValueError as exc:
        raise ValueError(f"SCIFI_{name.upper()}={raw!r} is not a valid {kind}") from exc
