"""Optional authentication of API requests, and what each client may do; off unless a verifier is configured.

A client shows a bearer token (`Authorization: Bearer <token>`): an API key of the keys file, or a JWT signed
with the configured secret, public key or a key of the JWKS file. The token names the tenants the client may
use and whether it may write. Each operation of the API is open, a read or a write (`access_of`):

    401 Unauthorized   no token, or one that is not valid (unknown key, bad signature, expired, wrong iss/aud)
    403 Forbidden      a valid token, but for other tenants, or read-only and the operation writes

Everything is read once, when the broker starts; a request costs a dictionary look-up for a token seen
before, a signature check for a new one.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from broker.http import tenant_of
from broker.settings import SettingError, Settings
from broker.store import DEFAULT_TENANT
from ngsi_ld.errors import NgsiLdError

__all__ = ["ALL_TENANTS", "DEFAULT_TENANT_NAME", "Authenticator", "Client", "Forbidden", "Unauthorized",
           "access_of", "guarded_routes", "open_authenticator"]

ALL_TENANTS = "*"
"""The tenant name in a token that lets the client use every tenant."""
DEFAULT_TENANT_NAME = "@default"
"""The name of the default tenant (requests without NGSILD-Tenant) in a token; no tenant can be named so."""
OPEN, READ, WRITE = "open", "read", "write"

_OPEN_OPERATIONS = frozenset({("GET", "/jsonldContexts/{context_id}"), ("GET", "/openapi.json")})
"""Clients and JSON-LD processors (notification receivers among them) dereference the @context URLs that the
broker gives them without credentials; the OpenAPI document describes the API, no data."""
_READS_BY_POST = frozenset({"/entityOperations/query"})
_SHARED_PATH = "/jsonldContexts"
"""The @contexts are the broker's, shared by every tenant: writing them needs a writer of the default tenant."""
_REALM = "ngsi-ld"
_CACHED_TOKENS = 4096
_HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
_KEY_FILES = ("auth_jwt_secret_file", "auth_jwt_public_key", "auth_jwks_file")


class Unauthorized(NgsiLdError):
    name = "Unauthorized"
    status = 401
    title = "Unauthorized"

    def __init__(self, detail: str, error: str | None = "invalid_token") -> None:
        super().__init__(detail)
        challenge = f'Bearer realm="{_REALM}"' + (f', error="{error}"' if error else "")
        self.headers = {"WWW-Authenticate": challenge}


class Forbidden(NgsiLdError):
    name = "Forbidden"
    status = 403
    title = "Forbidden"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers = {"WWW-Authenticate": f'Bearer realm="{_REALM}", error="insufficient_scope"'}


@dataclass(frozen=True, slots=True)
class Client:
    """Who shows a token: the tenants they may use (names as in tokens) and whether they may write."""

    name: str
    tenants: frozenset[str]
    write: bool

    def may_use(self, tenant: str) -> bool:
        return ALL_TENANTS in self.tenants or (tenant or DEFAULT_TENANT_NAME) in self.tenants


def access_of(method: str, path: str) -> str:
    """OPEN, READ or WRITE: what an operation of the API (its method and route path) needs."""
    if (method, path) in _OPEN_OPERATIONS:
        return OPEN
    if method in ("GET", "HEAD") or (method == "POST" and path in _READS_BY_POST):
        return READ
    return WRITE


@dataclass(frozen=True, slots=True)
class _Key:
    """A verification key, loaded, and the algorithms it may verify."""

    key: Any
    algorithms: frozenset[str]


class Authenticator:
    """Tells the client of an Authorization header, from API keys and JWT keys loaded at start."""

    def __init__(self, settings: Settings, api_keys: list[tuple[bytes, Client]],
                 jwt_keys: dict[str | None, _Key]) -> None:
        self.api_keys = api_keys
        self.jwt_keys = jwt_keys
        self.issuer = settings.auth_issuer or None
        self.audience = settings.auth_audience or None
        self.leeway = settings.auth_leeway
        self.tenants_claim = settings.auth_tenants_claim.split(".")
        self.roles_claim = settings.auth_roles_claim.split(".")
        self.write_role = settings.auth_write_role
        self.verified: dict[str, tuple[Client, float, float]] = {}
        """Tokens verified before: the client, and the times (exp, nbf) between which the token holds."""

    def client_of(self, authorization: str | None) -> Client:
        """The client of the header's bearer token; Unauthorized when there is none or it is not valid."""
        if not authorization:
            raise Unauthorized("This broker needs a bearer token: Authorization: Bearer <token>", error=None)
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("The Authorization header must be: Bearer <token>", error="invalid_request")
        client = self._api_key_client(token)
        if client is not None:
            return client
        return self._jwt_client(token)

    def _api_key_client(self, token: str) -> Client | None:
        digest = hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
        found = None
        for key_digest, client in self.api_keys:  # every key compared, in constant time, whatever matches
            if hmac.compare_digest(digest, key_digest):
                found = client
        return found

    def _jwt_client(self, token: str) -> Client:
        now = time.time()
        cached = self.verified.get(token)
        if cached is not None:
            client, expires, not_before = cached
            if not_before - self.leeway <= now < expires + self.leeway:
                return client
            del self.verified[token]
        claims = self._verified_claims(token)
        client = self._client_of_claims(claims)
        if len(self.verified) >= _CACHED_TOKENS:
            self.verified.clear()
        self.verified[token] = (client, float(claims["exp"]), float(claims.get("nbf", 0)))
        return client

    def _verified_claims(self, token: str) -> dict[str, Any]:
        import jwt

        if not self.jwt_keys or token.count(".") != 2:
            raise Unauthorized("The token is not a known API key" + (" nor a JWT" if self.jwt_keys else ""))
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("The token is not a well-formed JWT") from exc
        kid = header.get("kid")
        key = self.jwt_keys.get(kid) if kid in self.jwt_keys else self.jwt_keys.get(None)
        if key is None:
            raise Unauthorized("The token is signed with a key this broker does not know (its kid)")
        algorithm = header.get("alg")
        if algorithm not in key.algorithms:
            raise Unauthorized(f"The token's signature algorithm is not accepted; accepted: "
                               f"{', '.join(sorted(key.algorithms))}")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=[algorithm], issuer=self.issuer, audience=self.audience,
                leeway=self.leeway, options={"require": ["exp"], "verify_aud": self.audience is not None},
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(_reason(exc)) from exc
        return claims

    def _client_of_claims(self, claims: dict[str, Any]) -> Client:
        tenants = _strings(_claim(claims, self.tenants_claim))
        roles = _strings(_claim(claims, self.roles_claim))
        name = claims.get("azp") or claims.get("client_id") or claims.get("sub") or "jwt"
        return Client(str(name), tenants, self.write_role in roles)


def _reason(exc: Exception) -> str:
    """Why a JWT is refused, in our words (the library's messages name its internals)."""
    import jwt

    reasons: list[tuple[type[Exception], str]] = [
        (jwt.ExpiredSignatureError, "The token has expired"),
        (jwt.ImmatureSignatureError, "The token is not valid yet (nbf, iat)"),
        (jwt.InvalidIssuerError, "The token's issuer (iss) is not the one this broker accepts"),
        (jwt.InvalidAudienceError, "The token's audience (aud) is not this broker"),
        (jwt.MissingRequiredClaimError, "The token lacks a claim this broker needs (exp, iss, aud)"),
        (jwt.InvalidSignatureError, "The token's signature is not valid"),
    ]
    for kind, reason in reasons:
        if isinstance(exc, kind):
            return reason
    return "The token is not a valid JWT"


def _claim(claims: dict[str, Any], path: list[str]) -> Any:
    value: Any = claims
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def _strings(value: Any) -> frozenset[str]:
    """The names of a claim: a JSON array of strings, or one string of names separated by spaces or commas."""
    if isinstance(value, str):
        return frozenset(value.replace(",", " ").split())
    if isinstance(value, list):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()


Endpoint = Callable[[Request], Awaitable[Response]]


def guarded_routes(routes: list[Route], authenticator: Authenticator | None) -> list[Route]:
    """The routes, each checking its client first when authentication is on (as they are when it is off)."""
    if authenticator is None:
        return routes
    return [_guarded(route, authenticator) for route in routes]


def _guarded(route: Route, authenticator: Authenticator) -> Route:
    assert route.methods is not None
    method = sorted(route.methods - {"HEAD"})[0]
    access = access_of(method, route.path)
    if access == OPEN:
        return route
    endpoint: Endpoint = route.endpoint
    shared = route.path.startswith(_SHARED_PATH)

    async def guarded(request: Request) -> Response:
        client = authenticator.client_of(request.headers.get("authorization"))
        if shared and access == READ:
            return await endpoint(request)
        tenant = DEFAULT_TENANT if shared else tenant_of(request)
        if not client.may_use(tenant):
            shown = f"tenant '{tenant}'" if tenant else "the default tenant"
            raise Forbidden(f"The token does not give access to {shown}")
        if access == WRITE and not client.write:
            raise Forbidden("The token gives read access only; this operation writes")
        return await endpoint(request)

    return Route(route.path, guarded, methods=[method], name=route.name)


def open_authenticator(settings: Settings) -> Authenticator | None:
    """The authenticator the settings configure, its files read; None when authentication is off.
    SettingError names a setting whose value cannot work."""
    jwt_verifier = any(getattr(settings, name) for name in _KEY_FILES)
    for name in ("auth_issuer", "auth_audience"):
        if getattr(settings, name) and not jwt_verifier:
            raise SettingError(name, getattr(settings, name), "checks JWTs, but no JWT key is given: set "
                                                              "SCIFI_AUTH_JWKS_FILE, SCIFI_AUTH_JWT_PUBLIC_KEY or "
                                                              "SCIFI_AUTH_JWT_SECRET_FILE")
    if not settings.auth_api_keys and not jwt_verifier:
        return None
    api_keys = _api_keys(settings.auth_api_keys) if settings.auth_api_keys else []
    return Authenticator(settings, api_keys, _jwt_keys(settings))


def _read(name: str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SettingError(name, path, f"cannot be read ({exc.strerror})") from exc


def _api_keys(path: str) -> list[tuple[bytes, Client]]:
    """The keys of the TOML file: [keys.<name>] tables, each with `key` (the key) or `sha256` (its SHA-256, in
    hexadecimal), `tenants` (a list) and `write` (true or false, false by default)."""
    name = "auth_api_keys"
    try:
        document = tomllib.loads(_read(name, path).decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingError(name, path, f"not valid TOML ({exc})") from exc
    if set(document) != {"keys"} or not isinstance(document["keys"], dict) or not document["keys"]:
        raise SettingError(name, path, "the file holds one [keys.<name>] table per key, and nothing else")
    return [(_key_digest(path, key_name, entry), _key_client(path, key_name, entry))
            for key_name, entry in document["keys"].items()]


def _key_digest(path: str, key_name: str, entry: Any) -> bytes:
    problem = f"[keys.{key_name}]: "
    allowed = {"key", "sha256", "tenants", "write"}
    if not isinstance(entry, dict) or set(entry) - allowed:
        raise SettingError("auth_api_keys", path, problem + f"a table of {', '.join(sorted(allowed))}")
    if ("key" in entry) == ("sha256" in entry):
        raise SettingError("auth_api_keys", path, problem + "give either `key` or `sha256`")
    if "key" in entry:
        if not isinstance(entry["key"], str) or len(entry["key"]) < 16:
            raise SettingError("auth_api_keys", path, problem + "`key` must be a string of 16 characters at least")
        return hashlib.sha256(entry["key"].encode()).digest()
    try:
        digest = bytes.fromhex(entry["sha256"])
    except (TypeError, ValueError):
        digest = b""
    if len(digest) != 32:
        raise SettingError("auth_api_keys", path, problem + "`sha256` must be 64 hexadecimal digits")
    return digest


def _key_client(path: str, key_name: str, entry: dict[str, Any]) -> Client:
    tenants = entry.get("tenants")
    if not isinstance(tenants, list) or not all(isinstance(tenant, str) for tenant in tenants):
        raise SettingError("auth_api_keys", path, f"[keys.{key_name}]: `tenants` must be a list of tenant names")
    if not isinstance(entry.get("write", False), bool):
        raise SettingError("auth_api_keys", path, f"[keys.{key_name}]: `write` must be true or false")
    return Client(key_name, frozenset(tenants), entry.get("write", False))


def _jwt_keys(settings: Settings) -> dict[str | None, _Key]:
    """The JWT verification keys by kid (None: the key of tokens that name none), loaded once."""
    given = [name for name in _KEY_FILES if getattr(settings, name)]
    if not given:
        return {}
    if len(given) > 1:
        raise SettingError(given[1], getattr(settings, given[1]), f"give one JWT verifier only; {given[0]} is set")
    algorithms = _algorithms(settings.auth_algorithms)
    name = given[0]
    path = getattr(settings, name)
    raw = _read(name, path)
    if name == "auth_jwt_secret_file":
        return {None: _secret_key(path, raw, algorithms)}
    if name == "auth_jwt_public_key":
        return {None: _public_key(path, raw, algorithms)}
    return _jwks(path, raw, algorithms)


def _algorithms(text: str) -> frozenset[str]:
    from jwt.algorithms import get_default_algorithms

    known = set(get_default_algorithms()) - {"none"}
    names = frozenset(name.strip() for name in text.split(",") if name.strip())
    if not names or names - known:
        raise SettingError("auth_algorithms", text, f"allowed: a comma-separated list of {', '.join(sorted(known))}")
    return names


def _secret_key(path: str, raw: bytes, algorithms: frozenset[str]) -> _Key:
    secret = raw.rstrip(b"\r\n")
    if len(secret) < 32:
        raise SettingError("auth_jwt_secret_file", path, "the secret must be 32 bytes long at least")
    if not algorithms & _HMAC_ALGORITHMS:
        raise SettingError("auth_algorithms", ",".join(sorted(algorithms)), "a secret needs HS256, HS384 or HS512")
    return _Key(secret, algorithms & _HMAC_ALGORITHMS)


def _public_key(path: str, raw: bytes, algorithms: frozenset[str]) -> _Key:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(raw)
    except (ValueError, TypeError) as exc:
        raise SettingError("auth_jwt_public_key", path, "not a PEM public key") from exc
    fitting = algorithms & _algorithms_of(key)
    if not fitting:
        raise SettingError("auth_jwt_public_key", path, "no accepted algorithm (auth_algorithms) fits this key")
    return _Key(key, fitting)


def _jwks(path: str, raw: bytes, algorithms: frozenset[str]) -> dict[str | None, _Key]:
    import jwt

    try:
        keys = jwt.PyJWKSet.from_json(raw.decode("utf-8")).keys
    except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
        raise SettingError("auth_jwks_file", path, "not a JWKS document with usable keys") from exc
    loaded = {}
    for jwk in keys:
        fitting = algorithms & _algorithms_of(jwk.key)
        if jwk.algorithm_name and jwk.algorithm_name != "none":
            fitting &= {jwk.algorithm_name}
        if fitting:
            loaded[jwk.key_id] = _Key(jwk.key, frozenset(fitting))
    if not loaded:
        raise SettingError("auth_jwks_file", path, "no key fits an accepted algorithm (auth_algorithms)")
    if len(loaded) == 1:
        loaded[None] = next(iter(loaded.values()))
    return loaded


def _algorithms_of(key: Any) -> frozenset[str]:
    """The signature algorithms a key can verify (so that no key verifies under another family's rules)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    if isinstance(key, rsa.RSAPublicKey):
        return frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
    if isinstance(key, ec.EllipticCurvePublicKey):
        return frozenset({"ES256", "ES256K", "ES384", "ES512"})
    if isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return frozenset({"EdDSA"})
    if isinstance(key, bytes):
        return _HMAC_ALGORITHMS
    return frozenset()
