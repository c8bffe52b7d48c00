"""Optional authentication (docs/security.md): bearer tokens, JWTs or API keys, that name the tenants a client
may use and whether it may write; 401 and 403 as ProblemDetails; /health, /version and the hosted @contexts
stay open. Brokers of their own, with a JWKS file of a Keycloak-like realm, a keys file, a secret, a PEM key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from broker.auth import Authenticator, Client, Unauthorized, open_authenticator
from broker.settings import SettingError, Settings
from tests.broker.test_startup import assert_one_line, serve
from tests.conftest import API, BrokerProcess, unique_id

ISSUER = "https://keycloak.city.example/realms/city"
AUDIENCE = "scifi"
WRITER_KEY = "key-of-the-parking-app-0123456789"
READER_KEY = "key-of-the-dashboard-0123456789"
SIGNING = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ROTATED = ec.generate_private_key(ec.SECP256R1())
STRANGER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks(tmp_path: Path) -> Path:
    """A JWKS file as Keycloak publishes a realm's certs: two keys, told apart by their kid."""
    keys = [{**json.loads(RSAAlgorithm.to_jwk(SIGNING.public_key())), "kid": "rsa-1", "alg": "RS256", "use": "sig"},
            {**json.loads(ECAlgorithm.to_jwk(ROTATED.public_key())), "kid": "ec-2", "alg": "ES256", "use": "sig"}]
    path = tmp_path / "certs.json"
    path.write_text(json.dumps({"keys": keys}))
    return path


def api_keys(tmp_path: Path) -> Path:
    path = tmp_path / "api-keys.toml"
    path.write_text(f'[keys.parking-app]\nkey = "{WRITER_KEY}"\ntenants = ["city-a"]\nwrite = true\n\n'
                    f'[keys.dashboard]\nsha256 = "{hashlib.sha256(READER_KEY.encode()).hexdigest()}"\n'
                    f'tenants = ["city-a", "@default"]\n')
    return path


def token(tenants: Any = ("city-a",), *, write: bool = True, key: Any = SIGNING, kid: str = "rsa-1",
          algorithm: str = "RS256", **claims: Any) -> str:
    """A token as a Keycloak realm issues it: tenants from a user-attribute mapper, roles as realm roles."""
    now = int(time.time())
    roles = ["offline_access", *(["ngsi-ld:write"] if write else [])]
    payload = {"iss": ISSUER, "aud": [AUDIENCE, "account"], "sub": "user-1", "azp": "pilot-app", "iat": now,
               "exp": now + 300, "tenants": list(tenants), "realm_access": {"roles": roles}, **claims}
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})


def hs256(payload: dict[str, Any], secret: bytes) -> str:
    """A JWT signed with HMAC-SHA256 by hand: a public key used as the secret (algorithm confusion), which the
    JWT library refuses to make."""
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    signed = part(b'{"alg":"HS256","typ":"JWT"}') + "." + part(json.dumps(payload).encode())
    return signed + "." + part(hmac.new(secret, signed.encode(), hashlib.sha256).digest())


def bearer(value: str, tenant: str | None = "city-a") -> dict[str, str]:
    headers = {"Authorization": f"Bearer {value}"}
    if tenant is not None:
        headers["NGSILD-Tenant"] = tenant
    return headers


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    folder = tmp_path_factory.mktemp("auth")
    env = {"SCIFI_AUTH_JWKS_FILE": str(jwks(folder)), "SCIFI_AUTH_API_KEYS": str(api_keys(folder)),
           "SCIFI_AUTH_ISSUER": ISSUER, "SCIFI_AUTH_AUDIENCE": AUDIENCE}
    process = BrokerProcess(folder / "data", env=env).start()
    yield process
    process.stop()


@pytest.fixture
def http(secured: BrokerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=secured.url + API, timeout=10) as client:
        yield client


def entity() -> dict[str, Any]:
    return {"id": unique_id("ParkingSpot"), "type": "ParkingSpot", "status": {"type": "Property", "value": "free"}}


def assert_refused(answer: httpx.Response, status: int, name: str, error: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    problem = answer.json()
    assert problem["type"] == f"https://uri.etsi.org/ngsi-ld/errors/{name}" and problem["status"] == status
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="ngsi-ld"')
    assert (f'error="{error}"' in challenge) if error else ("error=" not in challenge)


def test_without_settings_the_broker_asks_for_no_token(client: httpx.Client) -> None:
    """Authentication is off by default: the session's broker has none of the auth settings."""
    assert client.post("/entities", json=entity()).status_code == 201
    assert client.get("/entities", params={"type": "ParkingSpot", "limit": 1}).status_code == 200


def test_a_request_without_a_token_is_401(http: httpx.Client) -> None:
    assert_refused(http.get("/entities", params={"type": "ParkingSpot"}), 401, "Unauthorized")
    assert_refused(http.post("/entities", json=entity()), 401, "Unauthorized")
    assert_refused(http.get("/entities", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401, "Unauthorized",
                   "invalid_request")


def test_health_version_and_hosted_contexts_stay_open(secured: BrokerProcess, http: httpx.Client) -> None:
    assert httpx.get(secured.url + "/health", timeout=10).status_code == 200
    assert httpx.get(secured.url + "/version", timeout=10).status_code == 200
    context = {"@context": {"spot": "https://city.example/ns/spot"}}
    added = http.post("/jsonldContexts", json=context, headers=bearer(token(["@default"]), None))
    assert added.status_code == 201, added.text
    served = httpx.get(secured.url + added.headers["location"], timeout=10)
    assert served.status_code == 200 and served.json() == context
    assert_refused(http.get("/jsonldContexts"), 401, "Unauthorized")
    assert http.get("/jsonldContexts", headers=bearer(token(["city-a"], write=False))).status_code == 200
    refused = http.post("/jsonldContexts", json=context, headers=bearer(token(["city-a"])))
    assert_refused(refused, 403, "Forbidden", "insufficient_scope")


def test_a_valid_token_writes_and_reads_its_tenant(http: httpx.Client) -> None:
    created = entity()
    headers = bearer(token(["city-a"]))
    assert http.post("/entities", json=created, headers=headers).status_code == 201
    assert http.get(f"/entities/{created['id']}", headers=headers).json()["id"] == created["id"]
    every_tenant = bearer(token(["*"], write=False))
    assert http.get(f"/entities/{created['id']}", headers=every_tenant).status_code == 200


def test_a_key_of_the_jwks_is_chosen_by_kid(http: httpx.Client) -> None:
    rotated = token(["city-a"], key=ROTATED, kid="ec-2", algorithm="ES256")
    assert http.post("/entities", json=entity(), headers=bearer(rotated)).status_code == 201
    wrong_family = token(["city-a"], key=ROTATED, kid="rsa-1", algorithm="ES256")
    assert_refused(http.get("/entities/urn:x:1", headers=bearer(wrong_family)), 401, "Unauthorized", "invalid_token")


def test_an_expired_token_is_401(http: httpx.Client) -> None:
    expired = token(exp=int(time.time()) - 120)
    answer = http.get("/entities", params={"type": "ParkingSpot"}, headers=bearer(expired))
    assert_refused(answer, 401, "Unauthorized", "invalid_token")
    assert "expired" in answer.json()["detail"]


@pytest.mark.parametrize(("bad", "reason"), [
    pytest.param(lambda: token(key=STRANGER), "signature", id="bad-signature"),
    pytest.param(lambda: token()[:-4] + "AAAA", "signature", id="tampered"),
    pytest.param(lambda: token(iss="https://elsewhere.example/realms/city"), "issuer", id="issuer"),
    pytest.param(lambda: token(aud="another-service"), "audience", id="audience"),
    pytest.param(lambda: token(nbf=int(time.time()) + 3600), "not valid yet", id="not-yet"),
    pytest.param(lambda: token(kid="unknown"), "does not know", id="unknown-kid"),
    pytest.param(lambda: jwt.encode({"tenants": ["city-a"], "exp": int(time.time()) + 60}, None, algorithm="none",
                                    headers={"kid": "rsa-1"}),
                 "not accepted", id="alg-none"),
    pytest.param(lambda: "not-a-key-nor-a-jwt", "not a known API key", id="garbage"),
])
def test_an_invalid_token_is_401(http: httpx.Client, bad: Any, reason: str) -> None:
    answer = http.get("/entities", params={"type": "ParkingSpot"}, headers=bearer(bad()))
    assert_refused(answer, 401, "Unauthorized", "invalid_token")
    assert reason in answer.json()["detail"]


def test_a_token_without_exp_is_401(http: httpx.Client) -> None:
    lasting = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "tenants": ["city-a"]}, SIGNING, algorithm="RS256",
                         headers={"kid": "rsa-1"})
    assert_refused(http.get("/entities/urn:x:1", headers=bearer(lasting)), 401, "Unauthorized", "invalid_token")


def test_a_token_of_another_tenant_is_403(http: httpx.Client) -> None:
    created = entity()
    assert http.post("/entities", json=created, headers=bearer(token(["city-a"]))).status_code == 201
    other = token(["city-b"])
    for answer in (http.get(f"/entities/{created['id']}", headers=bearer(other)),
                   http.get(f"/entities/{created['id']}", headers=bearer(other, None)),
                   http.post("/entities", json=entity(), headers=bearer(other)),
                   http.get("/subscriptions", headers=bearer(other)),
                   http.get("/types", headers=bearer(token([])))):
        assert_refused(answer, 403, "Forbidden", "insufficient_scope")
    assert http.get(f"/entities/{created['id']}", headers=bearer(other, "city-b")).status_code == 404


def test_a_read_only_token_reads_but_does_not_write(http: httpx.Client) -> None:
    created = entity()
    assert http.post("/entities", json=created, headers=bearer(token(["city-a"]))).status_code == 201
    reader = bearer(token(["city-a"], write=False))
    assert http.get(f"/entities/{created['id']}", headers=reader).status_code == 200
    query = {"type": "Query", "entities": [{"type": "ParkingSpot"}]}
    assert http.post("/entityOperations/query", json=query, headers=reader).status_code == 200
    for method, path, body in (("POST", "/entities", entity()), ("PATCH", f"/entities/{created['id']}/attrs",
                                                                   {"status": "taken"}),
                               ("PUT", f"/entities/{created['id']}", {"type": "ParkingSpot"}),
                               ("DELETE", f"/entities/{created['id']}", None),
                               ("POST", "/entityOperations/upsert", [entity()])):
        answer = http.request(method, path, json=body, headers=reader)
        assert_refused(answer, 403, "Forbidden", "insufficient_scope")
    assert http.get(f"/entities/{created['id']}", headers=reader).json()["status"]["value"] == "free"


def test_api_keys(http: httpx.Client) -> None:
    created = entity()
    assert http.post("/entities", json=created, headers=bearer(WRITER_KEY)).status_code == 201
    assert http.get(f"/entities/{created['id']}", headers=bearer(READER_KEY)).status_code == 200
    assert_refused(http.post("/entities", json=entity(), headers=bearer(READER_KEY)), 403, "Forbidden",
                   "insufficient_scope")
    assert_refused(http.get(f"/entities/{created['id']}", headers=bearer(WRITER_KEY, "city-b")), 403, "Forbidden",
                   "insufficient_scope")
    assert_refused(http.get("/entities/urn:x:1", headers=bearer(WRITER_KEY + "x")), 401, "Unauthorized",
                   "invalid_token")


def authenticator(**settings: str) -> Authenticator:
    opened = open_authenticator(Settings(**settings))  # type: ignore[arg-type]
    assert opened is not None
    return opened


def assert_401(authenticator: Authenticator, value: str, reason: str) -> None:
    with pytest.raises(Unauthorized) as refused:
        authenticator.client_of(f"Bearer {value}")
    assert reason in refused.value.detail


def test_a_secret_verifies_hs256_tokens(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s" * 40 + "\n")
    verifier = authenticator(auth_jwt_secret_file=str(secret))
    client = verifier.client_of("Bearer " + token(["city-a", "@default"], key="s" * 40, algorithm="HS256"))
    assert client == Client("pilot-app", frozenset({"city-a", "@default"}), True)
    assert client.may_use("city-a") and client.may_use("") and not client.may_use("city-b")
    assert_401(verifier, token(key="t" * 40, algorithm="HS256"), "signature")
    assert_401(verifier, token(key=SIGNING), "not accepted")


def test_a_pem_public_key_verifies_its_tokens(tmp_path: Path) -> None:
    pem = tmp_path / "realm.pem"
    pem.write_bytes(SIGNING.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo))
    verifier = authenticator(auth_jwt_public_key=str(pem), auth_roles_claim="scope", auth_write_role="write")
    assert verifier.client_of("Bearer " + token(scope="openid write")).write
    assert not verifier.client_of("Bearer " + token(scope="openid read")).write
    assert_401(verifier, token(key=STRANGER), "signature")
    # the public key used as an HMAC secret: the classic algorithm confusion
    assert_401(verifier, hs256({"tenants": ["city-a"], "exp": int(time.time()) + 60}, pem.read_bytes()),
               "not accepted")


def test_a_wrong_auth_setting_is_one_line(tmp_path: Path) -> None:
    run = serve("--data-dir", str(tmp_path / "data"),
                env={"SCIFI_AUTH_ALGORITHMS": "RS256,none", "SCIFI_AUTH_JWKS_FILE": str(jwks(tmp_path))})
    assert_one_line(run, "SCIFI_AUTH_ALGORITHMS=RS256,none", "allowed: a comma-separated list of")


@pytest.mark.parametrize(("settings", "expected"), [
    ({"auth_algorithms": "RS256,none", "auth_jwks_file": "{jwks}"}, ["SCIFI_AUTH_ALGORITHMS", "allowed"]),
    ({"auth_algorithms": "HS256", "auth_jwks_file": "{jwks}"}, ["SCIFI_AUTH_JWKS_FILE", "no key fits"]),
    ({"auth_jwks_file": "/no/such/certs.json"}, ["SCIFI_AUTH_JWKS_FILE", "cannot be read"]),
    ({"auth_jwks_file": "{keys}"}, ["SCIFI_AUTH_JWKS_FILE", "not a JWKS document"]),
    ({"auth_jwt_public_key": "{keys}"}, ["SCIFI_AUTH_JWT_PUBLIC_KEY", "not a PEM public key"]),
    ({"auth_jwt_secret_file": "{short}"}, ["SCIFI_AUTH_JWT_SECRET_FILE", "32 bytes"]),
    ({"auth_jwks_file": "{jwks}", "auth_jwt_secret_file": "{short}"}, ["SCIFI_AUTH_JWKS_FILE", "one JWT verifier"]),
    ({"auth_issuer": ISSUER}, ["SCIFI_AUTH_ISSUER", "no JWT key is given"]),
    ({"auth_audience": "scifi", "auth_api_keys": "{keys}"}, ["SCIFI_AUTH_AUDIENCE", "no JWT key is given"]),
    ({"auth_api_keys": "{jwks}"}, ["SCIFI_AUTH_API_KEYS", "not valid TOML"]),
    ({"auth_api_keys": "{bad_keys}"}, ["SCIFI_AUTH_API_KEYS", "[keys.app]", "16 characters"]),
    ({"auth_api_keys": "{bad_digest}"}, ["SCIFI_AUTH_API_KEYS", "[keys.app]", "64 hexadecimal digits"]),
])
def test_each_wrong_auth_setting_is_named(tmp_path: Path, settings: dict[str, str], expected: list[str]) -> None:
    files = {"jwks": jwks(tmp_path), "keys": api_keys(tmp_path), "short": tmp_path / "short",
             "bad_keys": tmp_path / "bad.toml", "bad_digest": tmp_path / "digest.toml"}
    files["short"].write_text("too short")
    files["bad_keys"].write_text('[keys.app]\nkey = "short"\ntenants = []\n')
    files["bad_digest"].write_text('[keys.app]\nsha256 = "abc"\ntenants = []\n')
    with pytest.raises(SettingError) as refused:
        authenticator(**{name: value.format(**files) for name, value in settings.items()})
    for text in expected:
        assert text in str(refused.value)
