"""Which models each tenant uses and what happens to an entity that breaks its model: `off` (not checked),
`warn` (stored, with a warning), `enforce` (rejected with BadRequestData listing each violation).

Configuration, in one TOML file (the `[smart_data_models]` table) or from SCIFI_SDM_* variables:

    [smart_data_models]
    dir = "smart-data-models"        # a local tree; without it, the published URLs (cached)
    policy = "warn"                  # for every tenant...
    models = ["dataModel.Parking/OffStreetParking", "dataModel.Parking/ParkingSpot"]

    [smart_data_models.tenants.mechelen]
    policy = "enforce"               # ...but this one (its models: the list above unless it has its own)
    types = {ParkingSpot = "warn"}   # and per type, by the model's name for it
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ngsi_ld.entity import Entity
from ngsi_ld.errors import BadRequestData
from smart_data_models.models import Model, Violation, described
from smart_data_models.reduce import reduced_stored

__all__ = ["POLICIES", "Finding", "ModelViolations", "Rules", "ValidationConfig", "Validator", "load_config"]

POLICIES = ("off", "warn", "enforce")


class ModelViolations(BadRequestData):
    """An entity rejected by its Smart Data Model; its ProblemDetails lists each violation."""

    def __init__(self, entity_id: str, model: str, violations: list[Violation]) -> None:
        super().__init__(f"Entity '{entity_id}' does not follow the Smart Data Model {model}: {described(violations)}")
        self.model = model
        self.violations = violations

    def problem(self) -> dict[str, Any]:
        return {**super().problem(), "model": self.model,
                "violations": [{"pointer": v.pointer, "message": v.message} for v in self.violations]}


@dataclass(frozen=True, slots=True)
class Rules:
    """The models a tenant uses, its policy, and the policies of some of its types (by type name)."""

    policy: str = "off"
    models: tuple[str, ...] = ()
    types: Mapping[str, str] = field(default_factory=dict)

    def policy_of(self, type_name: str) -> str:
        return self.types.get(type_name, self.policy)


@dataclass(frozen=True, slots=True)
class ValidationConfig:
    tree: Path | None = None
    """A local tree of the models; None: the published URLs, through the cache."""
    default: Rules = Rules()
    tenants: Mapping[str, Rules] = field(default_factory=dict)

    def rules(self, tenant: str) -> Rules:
        return self.tenants.get(tenant, self.default)

    @property
    def models(self) -> set[str]:
        """Every model that some tenant validates against."""
        rules = [self.default, *self.tenants.values()]
        return {model for rule in rules if rule.policy != "off" or rule.types for model in rule.models}


def load_config(file: Path | None, tree: str = "", policy: str = "", models: str = "") -> ValidationConfig:
    """The configuration of `file` (if any), then the SCIFI_SDM_DIR, _POLICY and _MODELS overrides.
    ValueError says what is wrong."""
    table: dict[str, Any] = {}
    if file is not None:
        try:
            table = tomllib.loads(file.read_text()).get("smart_data_models", {})
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"Cannot read the configuration {file}: {exc}") from exc
    default = _rules(table, Rules())
    if policy:
        default = replace(default, policy=_policy(policy))
    if models:
        default = replace(default, models=tuple(name.strip() for name in models.split(",") if name.strip()))
    tenants = {name: _rules(section, default) for name, section in table.get("tenants", {}).items()}
    directory = tree or table.get("dir")
    return ValidationConfig(Path(directory) if directory else None, default, tenants)


def _rules(section: dict[str, Any], inherited: Rules) -> Rules:
    models = section.get("models", inherited.models)
    types = section.get("types", {})
    if not isinstance(models, list | tuple) or not all(isinstance(m, str) for m in models):
        raise ValueError(f"'models' must be a list of '<repo>/<Model>' names, got {models!r}")
    return Rules(_policy(section.get("policy", inherited.policy)), tuple(models),
                 {type_name: _policy(value) for type_name, value in types.items()})


def _policy(value: Any) -> str:
    if value not in POLICIES:
        raise ValueError(f"A validation policy is one of {', '.join(POLICIES)}, got {value!r}")
    return str(value)


@dataclass(frozen=True, slots=True)
class Finding:
    """An entity that breaks its model, under the `warn` policy."""

    entity_id: str
    model: str
    violations: list[Violation]


class Validator:
    """Checks entities as they will be stored, by the policy of their tenant and type."""

    def __init__(self, config: ValidationConfig, models: Iterable[Model]) -> None:
        self._config = config
        self._by_type = {model.type_iri: model for model in models}
        self.counts: dict[tuple[str, str, str], int] = {}
        """Entities found breaking their model, per (tenant, model, policy)."""

    def check(self, tenant: str, entity: Entity) -> Finding | None:
        """None when the entity is valid or not checked; a Finding under `warn`; ModelViolations under
        `enforce`."""
        rules = self._config.rules(tenant)
        for type_iri in entity["type"]:
            model = self._by_type.get(type_iri)
            if model is None or model.name not in rules.models:
                continue
            policy = rules.policy_of(model.type_name)
            if policy == "off":
                continue
            violations = model.violations(reduced_stored(entity, model.terms))
            if not violations:
                continue
            key = (tenant, model.name, policy)
            self.counts[key] = self.counts.get(key, 0) + 1
            if policy == "enforce":
                raise ModelViolations(entity["id"], model.name, violations)
            return Finding(entity["id"], model.name, violations)
        return None
