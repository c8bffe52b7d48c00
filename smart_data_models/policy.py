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
from smart_data_models.models import Model, Violation, described, in_instances
from smart_data_models.reduce import stored_instance_variants
from smart_data_models.source import context_url

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


_SECTION = "smart_data_models"
_KEYS = ("dir", "policy", "models", "tenants")
_TENANT_KEYS = ("policy", "models", "types")


def load_config(file: Path | None, tree: str = "", policy: str = "", models: str = "") -> ValidationConfig:
    """The configuration of `file` (if any), then the SCIFI_SDM_DIR, _POLICY and _MODELS overrides. ValueError
    says in one line what is wrong and what is allowed. A relative `dir` in the file is relative to the file."""
    table = _table(file) if file is not None else {}
    where = f"{file}: [{_SECTION}]"
    default = _rules(table, Rules(), where, _KEYS)
    if policy:
        default = replace(default, policy=_policy(policy, "SCIFI_SDM_POLICY"))
    if models:
        default = replace(default, models=tuple(name.strip() for name in models.split(",") if name.strip()))
    tenants_table = table.get("tenants", {})
    if not isinstance(tenants_table, dict):
        raise ValueError(f"{where} tenants: must be a table of tenants, like [{_SECTION}.tenants.mechelen]")
    tenants = {name: _rules(section, default, f"{file}: [{_SECTION}.tenants.{name}]", _TENANT_KEYS)
               for name, section in tenants_table.items()}
    return ValidationConfig(_tree(file, tree, table.get("dir")), default, tenants)


def _table(file: Path) -> dict[str, Any]:
    try:
        document = tomllib.loads(file.read_text())
    except OSError as exc:
        raise ValueError(f"{file}: the configuration cannot be read ({exc.strerror})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{file}: not valid TOML: {exc}") from exc
    unknown = [name for name in document if name != _SECTION]
    if unknown:
        raise ValueError(f"{file}: unknown section [{unknown[0]}]; allowed: [{_SECTION}]")
    table = document.get(_SECTION, {})
    if not isinstance(table, dict):
        raise ValueError(f"{file}: {_SECTION} must be a table, [{_SECTION}]")
    return table


def _tree(file: Path | None, override: str, configured: Any) -> Path | None:
    """The local tree: the override (SCIFI_SDM_DIR) as given, else the file's `dir`, relative to the file."""
    if override:
        where, directory = f"SCIFI_SDM_DIR={override}", Path(override)
    elif configured is None or configured == "":
        return None
    elif not isinstance(configured, str):
        raise ValueError(f"{file}: [{_SECTION}] dir: must be a folder's path, in quotes")
    else:
        directory = Path(configured)
        if file is not None and not directory.is_absolute():
            directory = file.parent / directory
        where = f'{file}: [{_SECTION}] dir = "{configured}"'
    if not directory.is_dir():
        raise ValueError(f"{where}: no such folder ({directory.resolve()}); give a tree of the Smart Data Models, "
                         "laid out like their published URLs, or no dir for the published URLs")
    return directory


def _rules(section: Any, inherited: Rules, where: str, allowed: tuple[str, ...]) -> Rules:
    if not isinstance(section, dict):
        raise ValueError(f"{where}: must be a table")
    unknown = [key for key in section if key not in allowed]
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]}; allowed: {', '.join(allowed)}")
    models = section.get("models", inherited.models)
    types = section.get("types", {})
    if not isinstance(models, list | tuple) or not all(isinstance(m, str) for m in models):
        raise ValueError(f'{where} models: must be a list of "<repo>/<Model>" names, like '
                         '["dataModel.Parking/ParkingSpot"]')
    if not isinstance(types, dict):
        raise ValueError(f'{where} types: must be a table of type names and policies, like {{ParkingSpot = "warn"}}')
    return Rules(_policy(section.get("policy", inherited.policy), f"{where} policy"), tuple(models),
                 {type_name: _policy(value, f"{where} types.{type_name}") for type_name, value in types.items()})


def _policy(value: Any, where: str) -> str:
    if value not in POLICIES:
        shown = f'"{value}"' if isinstance(value, str) else str(value)
        raise ValueError(f"{where} = {shown}: not a validation policy; allowed: {', '.join(POLICIES)}")
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
        models = list(models)
        self._by_type = {model.type_iri: model for model in models}
        self._by_short_name = {model.type_name: model for model in models}
        self.counts: dict[tuple[str, str, str], int] = {}
        """Entities found breaking their model, per (tenant, model, policy)."""

    def check(self, tenant: str, entity: Entity) -> Finding | None:
        """None when the entity is valid or not checked; a Finding under `warn`; ModelViolations under
        `enforce`. A type of a model's short name but another IRI (the model's @context was not sent) breaks
        that model too, since the entity would otherwise escape its checks."""
        rules = self._config.rules(tenant)
        for type_iri in entity["type"]:
            model = self._by_type.get(type_iri)
            namesake = None if model is not None else self._by_short_name.get(_short_name(type_iri))
            chosen = model or namesake
            if chosen is None or chosen.name not in rules.models:
                continue
            policy = rules.policy_of(chosen.type_name)
            if policy == "off":
                continue
            if namesake is not None:
                violations = [_context_mistake(type_iri, namesake)]
            else:
                violations = list(dict.fromkeys(
                    violation for key_values, dataset_ids in stored_instance_variants(entity, chosen.terms)
                    for violation in in_instances(chosen.violations(key_values), dataset_ids)))
            if not violations:
                continue
            key = (tenant, chosen.name, policy)
            self.counts[key] = self.counts.get(key, 0) + 1
            if policy == "enforce":
                raise ModelViolations(entity["id"], chosen.name, violations)
            return Finding(entity["id"], chosen.name, violations)
        return None


def _short_name(type_iri: str) -> str:
    return type_iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _context_mistake(type_iri: str, model: Model) -> Violation:
    return Violation("/type", f"the type {model.type_name} was expanded to {type_iri}, but the model's @context "
                              f"defines it as {model.type_iri}: send the model's @context (Link: "
                              f"<{context_url(model.name)}>, or in the body's @context) so that the entity is "
                              "checked against its model, or give an entity of another vocabulary a type of "
                              "another name")
