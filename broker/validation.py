"""Smart Data Models validation in the broker: the models of the configuration, compiled when the broker
starts, and the check that every write runs on each entity as it will be stored.

Under `warn`, the entity is stored and the answer carries a `Warning` header per entity (RFC 9111 code
199) naming the model and the first violations; under `enforce`, that entity's change fails with
BadRequestData (in a batch, that entity only), its ProblemDetails listing each violation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from broker.settings import Settings
from ngsi_ld.entity import Entity
from smart_data_models.models import compile_model, described
from smart_data_models.policy import Finding, ValidationConfig, Validator, load_config
from smart_data_models.source import SchemaSource, SchemaUnavailable, context_url, schema_url

__all__ = ["ValidationWarnings", "known_document", "open_source", "open_validator", "validation_hook"]

log = logging.getLogger("scifi.validation")

_MOST_WARNINGS = 10
_findings: ContextVar[list[Finding] | None] = ContextVar("findings", default=None)


def open_source(settings: Settings) -> tuple[SchemaSource, ValidationConfig]:
    """The source of the models, and the configuration; RuntimeError when the configuration is wrong."""
    try:
        config = load_config(Path(settings.sdm_config) if settings.sdm_config else None, settings.sdm_dir,
                             settings.sdm_policy, settings.sdm_models)
    except ValueError as exc:
        raise RuntimeError(str(exc)) from exc
    return SchemaSource(config.tree, settings.data_dir / "sdm", settings.sdm_timeout, settings.sdm_url), config


def known_document(source: SchemaSource) -> Callable[[str], Any]:
    """The documents of Smart Data Models URLs that the source has (None for others): a subject's
    context.jsonld then needs no network."""
    def known(url: str) -> Any:
        try:
            return source.document(url)
        except SchemaUnavailable:
            return None
    return known


async def open_validator(source: SchemaSource, config: ValidationConfig) -> Validator | None:
    """The validator of the configured models (None when no tenant validates anything); RuntimeError when
    a model cannot be had, so that a broker never runs without the checks it was configured for."""
    if not config.models:
        return None
    models = []
    for name in sorted(config.models):
        try:
            await source.fetch(schema_url(name))
            await source.fetch(context_url(name))
            models.append(compile_model(source, name))
        except SchemaUnavailable as exc:
            raise RuntimeError(f"Smart Data Model {name} is not available: {exc}") from exc
    log.info("validating models=%s", ",".join(model.name for model in models))
    return Validator(config, models)


def validation_hook(validator: Validator) -> Callable[[str, Entity], None]:
    """The store's `validate`: runs the validator, and keeps the findings of `warn` for the answer."""

    def validate(tenant: str, entity: Entity) -> None:
        finding = validator.check(tenant, entity)
        if finding is None:
            return
        log.warning("entity breaks its model tenant=%s id=%s model=%s violations=%d", tenant, finding.entity_id,
                    finding.model, len(finding.violations))
        findings = _findings.get()
        if findings is not None:
            findings.append(finding)
    return validate


class ValidationWarnings:
    """Adds a Warning header for each entity that a request stored although it breaks its model."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        findings: list[Finding] = []
        token = _findings.set(findings)

        async def send_with_warnings(message: Message) -> None:
            if message["type"] == "http.response.start" and findings:
                message["headers"] = [*message.get("headers", []), *_warning_headers(findings)]
            await send(message)
        try:
            await self.app(scope, receive, send_with_warnings)
        finally:
            _findings.reset(token)


def _warning_headers(findings: list[Finding]) -> list[tuple[bytes, bytes]]:
    headers = []
    for finding in findings[:_MOST_WARNINGS]:
        listed = described(finding.violations[:3])
        more = f" (and {len(finding.violations) - 3} more)" if len(finding.violations) > 3 else ""
        text = f"Entity {finding.entity_id} does not follow {finding.model}: {listed}{more}"
        headers.append((b"warning", f'199 scifi "{_quoted(text)}"'.encode("latin-1", "replace")))
    if len(findings) > _MOST_WARNINGS:
        text = f"{len(findings) - _MOST_WARNINGS} more entities do not follow their model"
        headers.append((b"warning", f'199 scifi "{text}"'.encode("latin-1")))
    return headers


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")
