"""The broker's settings: one object, read from SCIFI_* environment variables (flags of `scifi serve` set them).

Each setting says what it means and, where the default needs words, how its default reads: `scifi serve
--help` and the README's table of settings (`python -m broker.settings`) are made from them.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["LOG_LEVELS", "SettingError", "Settings", "converted", "default_text", "flag", "settings_table", "variable"]

LOG_LEVELS = ("debug", "info", "warning", "error")
_SDM_POLICIES = ("off", "warn", "enforce")


def _setting(default: Any, meaning: str, shown: str | None = None) -> Any:
    """A setting's default, what it means, and (when `str(default)` would not say it) how its default reads."""
    return field(default=default, metadata={"meaning": meaning, "shown": shown})


class SettingError(ValueError):
    """A setting whose value is not allowed: its name, the value, and what is allowed."""

    def __init__(self, name: str, value: object, allowed: str) -> None:
        super().__init__(f"{variable(name)}={value}: {allowed}")
        self.name = name
        self.value = value
        self.allowed = allowed


@dataclass(frozen=True, slots=True)
class Settings:
    """Every limit and place the broker uses; each field is also the SCIFI_<FIELD> environment variable."""

    host: str = _setting("0.0.0.0", "address to listen on")
    port: int = _setting(1026, "port to listen on")
    workers: int = _setting(1, "worker processes (they share the store)")
    data_dir: Path = _setting(Path("data"), "files of the embedded store and its @contexts, and the Smart Data "
                                            "Models cache")
    store: str = _setting("", "store URL: `sqlite://<directory>` or `mongodb://<host>[:<port>][/<database>][?<options>]`",
                          "sqlite://<data-dir>")
    max_body_bytes: int = _setting(8 * 1024 * 1024, "largest request body (413 above)")
    max_batch_size: int = _setting(1000, "most entities in one batch operation (413 above)")
    page_size: int = _setting(20, "entities per page when `limit` is not given")
    max_page_size: int = _setting(1000, "largest `limit` (403 TooManyResults above)")
    max_join_level: int = _setting(5, "deepest linked entity retrieval (`joinLevel`) a request or a subscription "
                                      "may ask for; each level is one store query")
    max_value_depth: int = _setting(64, "deepest nesting of objects and arrays in the value of an attribute (400 "
                                        "above)")
    max_attribute_depth: int = _setting(16, "deepest nesting of sub-attributes (400 above)")
    max_attributes: int = _setting(1000, "most attributes of an entity, or sub-attributes of an attribute, in one "
                                         "request (413 above)")
    max_id_length: int = _setting(2048, "longest entity id, in characters (400 above)")
    max_name_length: int = _setting(512, "longest name of a type or an attribute, in characters (400 above)")
    max_string_length: int = _setting(1_000_000, "longest string in a value, in characters (413 above)")
    max_query_terms: int = _setting(2000, "most terms of a q or scopeQ expression, a value list counting as one "
                                          "(400 above)")
    max_query_depth: int = _setting(32, "deepest nesting of parentheses in a q or scopeQ expression (400 above)")
    max_selectors: int = _setting(1000, "most entity selectors (`entities`) of a query or a subscription (413 above)")
    query_timeout: float = _setting(30.0, "seconds a query may run in the store (403 TooComplexQuery above)")
    max_order_keys: int = _setting(15, "most keys of an `orderBy` (400 above; MongoDB sorts by at most 32 fields, "
                                       "and a key takes two)")
    max_regex_length: int = _setting(1000, "longest regular expression (`idPattern`, `~=` of q), in characters "
                                           "(400 above)")
    max_subscriptions: int = _setting(10000, "most subscriptions of one tenant (422 OperationNotSupported above)")
    context_timeout: float = _setting(5.0, "seconds to fetch a remote @context (504 LdContextNotAvailable when "
                                           "it cannot be had)")
    max_context_bytes: int = _setting(4 * 1024 * 1024, "largest remote @context document, in bytes (504 "
                                                       "LdContextNotAvailable above)")
    context_cache_size: int = _setting(512, "distinct @contexts whose term maps stay in memory")
    log_level: str = _setting("info", f"{', '.join(LOG_LEVELS)}")
    sdm_config: str = _setting("", "the TOML file of Smart Data Models validation: its [smart_data_models] table "
                                   "says which models each tenant uses, and the policies (relative paths in it "
                                   "are read relative to the file)", "none")
    sdm_dir: str = _setting("", "a local tree of the Smart Data Models (overrides the file's `dir`)",
                            "none: the published URLs, cached under <data-dir>/sdm")
    sdm_policy: str = _setting("", f"{', '.join(_SDM_POLICIES)} for every tenant the file does not name "
                                   "(overrides the file's)", "the file's, else off")
    sdm_models: str = _setting("", "models every tenant uses, comma-separated, e.g. dataModel.Parking/ParkingSpot "
                                   "(overrides the file's)", "the file's")
    sdm_url: str = _setting("https://smart-data-models.github.io/", "where the published models are fetched from "
                                                                   "when there is no local tree (a mirror, say)")
    sdm_timeout: float = _setting(10.0, "seconds to fetch one schema or context from the published URLs")
    notification_timeout: float = _setting(10.0, "seconds a notification may take before it counts as failed "
                                                 "(an endpoint's `timeout` overrides it)")
    notification_concurrency: int = _setting(8, "notifications in flight to one endpoint (scheme, host, port)")
    notification_gather: int = _setting(100, "most pending notifications of a subscription sent as one (their "
                                             "entities in one `data` array), when its receiver is behind")
    notification_backlog: int = _setting(10000, "most pending notifications of a subscription (the oldest are "
                                                "dropped above, with a warning in the log)")
    notification_retry: float = _setting(1.0, "seconds before the first retry of a failed notification; each "
                                              "retry waits twice as long...")
    notification_retry_max: float = _setting(60.0, "...up to this")
    notification_max_attempts: int = _setting(1500, "failed attempts to deliver a notification after which every "
                                                    "notification its subscription has waiting moves to the dead "
                                                    "letters (`scifi deadletters`)")
    notification_dead_after: float = _setting(86400.0, "...or seconds since it was made after which a failed "
                                                       "attempt moves them there")
    notification_ca_file: str = _setting("", "a PEM file of certificate authorities (a city's own, say) that "
                                             "HTTPS and MQTTS endpoints may be signed by, beside the system's",
                                         "none")
    notification_poll: float = _setting(0.05, "seconds between looks for changes that other workers recorded")
    auth_api_keys: str = _setting("", "a TOML file of API keys, each with the tenants it may use and whether it may "
                                      "write (docs/security.md); setting it turns authentication on", "none")
    auth_jwt_secret_file: str = _setting("", "a file holding the HMAC secret (32 bytes at least) that JWTs are signed "
                                             "with; setting it turns authentication on", "none")
    auth_jwt_public_key: str = _setting("", "a PEM file of the public key that JWTs are signed with (RSA, EC or "
                                            "Ed25519); setting it turns authentication on", "none")
    auth_jwks_file: str = _setting("", "a JWKS file (a Keycloak realm's certs, say) of the keys that JWTs are signed "
                                       "with, chosen by their `kid`; setting it turns authentication on", "none")
    auth_algorithms: str = _setting("RS256,PS256,ES256,EdDSA,HS256", "JWT signature algorithms accepted, "
                                                                    "comma-separated (never `none`)")
    auth_issuer: str = _setting("", "the `iss` a JWT must carry", "any")
    auth_audience: str = _setting("", "the `aud` a JWT must carry", "any")
    auth_tenants_claim: str = _setting("tenants", "the JWT claim listing the tenants a client may use (a dotted path "
                                                  "into nested claims; `*` means every tenant, `@default` the "
                                                  "default one)")
    auth_roles_claim: str = _setting("realm_access.roles", "the JWT claim listing the client's roles (a dotted "
                                                           "path; Keycloak's realm roles by default)")
    auth_write_role: str = _setting("ngsi-ld:write", "the role (in the roles claim) that lets a client write")
    auth_leeway: float = _setting(30.0, "seconds of clock difference allowed when checking a JWT's `exp` and "
                                        "`nbf`")
    outbound_deny: str = _setting("", "hosts (`*.example.org` for subdomains), CIDRs and schemes (written `mqtt:`), "
                                      "comma-separated, that notification endpoints and remote @contexts may not "
                                      "use (400 when given, a failed notification when used); link-local and cloud "
                                      "metadata addresses are always refused", "none beyond the metadata ones")
    outbound_allow: str = _setting("", "the only hosts, CIDRs and schemes that notification endpoints and remote "
                                       "@contexts may use, same form: when it names hosts or CIDRs, other "
                                       "destinations are refused; when it names schemes, other schemes are",
                                   "any")
    resolver: str = _setting("", "the DNS server (`<address>[:<port>]`) that names of notification endpoints and "
                                 "remote @contexts are resolved with", "the system's")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """The settings of the SCIFI_* variables; SettingError names a variable whose value is not allowed."""
        values = {}
        for setting in fields(cls):
            raw = environ.get(variable(setting.name))
            if raw is not None:
                values[setting.name] = converted(setting.name, raw)
        return cls(**values)

    @property
    def store_url(self) -> str:
        return self.store or f"sqlite://{self.data_dir}"

    def as_env(self) -> dict[str, str]:
        """The environment variables that recreate these settings in a worker process."""
        return {variable(setting.name): str(getattr(self, setting.name)) for setting in fields(self)}

    def check(self) -> None:
        """SettingError for the first value that cannot work (a number out of range, an unknown level...)."""
        for setting in fields(self):
            value = getattr(self, setting.name)
            if setting.type in ("int", "float") and value <= 0:
                raise SettingError(setting.name, value, f"must be more than 0 ({_NUMBERS[str(setting.type)]})")
        if self.port > 65535:
            raise SettingError("port", self.port, "a port is a whole number from 1 to 65535")
        if self.log_level not in LOG_LEVELS:
            raise SettingError("log_level", self.log_level, f"not a log level; allowed: {', '.join(LOG_LEVELS)}")
        from subscriptions.outbound import parse_rules, parse_server

        for name in ("outbound_deny", "outbound_allow"):
            try:
                parse_rules(getattr(self, name))
            except ValueError as exc:
                raise SettingError(name, getattr(self, name), str(exc)) from exc
        if self.resolver:
            try:
                parse_server(self.resolver)
            except ValueError as exc:
                raise SettingError("resolver", self.resolver, str(exc)) from exc
        if self.sdm_policy and self.sdm_policy not in _SDM_POLICIES:
            raise SettingError("sdm_policy", self.sdm_policy,
                               f"not a validation policy; allowed: {', '.join(_SDM_POLICIES)}")


_NUMBERS = {"int": "a whole number", "float": "a number"}


def variable(name: str) -> str:
    """The environment variable of a setting."""
    return f"SCIFI_{name.upper()}"


def flag(name: str) -> str:
    """The `scifi serve` flag of a setting."""
    return "--" + name.replace("_", "-")


def default_text(setting: Field[Any]) -> str:
    """A setting's default as people read it."""
    shown = setting.metadata["shown"]
    return str(shown if shown is not None else setting.default)


def settings_table() -> str:
    """The README's table of settings (Markdown), one row per setting."""
    rows = ["| flag | variable | default | meaning |", "|---|---|---|---|"]
    for setting in fields(Settings):
        default = default_text(setting)
        literal = setting.metadata["shown"] is None or ("<" in default and " " not in default)
        shown = f"`{default}`" if literal else re.sub(r"\S*<[^>]+>\S*", r"`\g<0>`", default)
        meaning = setting.metadata["meaning"]
        rows.append(f"| `{flag(setting.name)}` | `{variable(setting.name)}` | {shown} | {meaning} |")
    return "\n".join(rows) + "\n"


def converted(name: str, raw: str) -> Any:
    """The value of setting `name` written as `raw`; SettingError when it is not one."""
    kind = str(Settings.__dataclass_fields__[name].type)
    converters = {"int": int, "float": float, "Path": Path, "str": str}
    try:
        return converters[kind](raw)
    except ValueError as exc:
        raise SettingError(name, raw, f"must be {_NUMBERS[kind]}") from exc


if __name__ == "__main__":
    sys.stdout.write(settings_table())
