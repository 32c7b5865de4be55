"""Dashboard sign-in tokens: only an unexpired ID token of our pool, for our app client, signed by
a key the pool publishes, is accepted. The keys are served over real HTTP on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from onerouter.accounts.tokens import TokenVerifier
from onerouter.errors import AuthenticationFailed

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"
CLIENT = "dashboard-client"


def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


POOL_KEY = _private_key()
STRANGER_KEY = _private_key()


class _Jwks:
    """The pool's key set on loopback; counts how often it is fetched."""

    def __init__(self) -> None:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(POOL_KEY.public_key()))
        body = json.dumps({"keys": [{**jwk, "kid": "pool-key", "alg": "RS256", "use": "sig"}]})
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.fetches = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return (
            f"http://127.0.0.1:{self.server.server_address[1]}/us-east-1_pool/.well-known/jwks.json"
        )


@pytest.fixture(scope="module")
def jwks() -> Iterator[_Jwks]:
    served = _Jwks()
    yield served
    served.server.shutdown()


@pytest.fixture
def verifier(jwks: _Jwks) -> TokenVerifier:
    return TokenVerifier(jwks.url, ISSUER, CLIENT)


def _token(key: Any = POOL_KEY, kid: str = "pool-key", alg: str = "RS256", **changes: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": "person-1",
        "email": "ada@example.com",
        "token_use": "id",
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(changes)
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def _refused(verifier: TokenVerifier, token: str) -> AuthenticationFailed:
    with pytest.raises(AuthenticationFailed) as caught:
        verifier.verify(token)
    return caught.value


def test_a_valid_id_token_names_the_person(verifier: TokenVerifier) -> None:
    identity = verifier.verify(_token())
    assert (identity.sub, identity.email) == ("person-1", "ada@example.com")


def test_the_keys_are_fetched_once_and_kept(verifier: TokenVerifier, jwks: _Jwks) -> None:
    before = jwks.fetches
    for _ in range(5):
        verifier.verify(_token())
    assert jwks.fetches - before == 1


def test_an_expired_token_is_refused(verifier: TokenVerifier) -> None:
    long_ago = int(time.time()) - 7200
    error = _refused(verifier, _token(iat=long_ago, exp=long_ago + 3600))
    assert (error.status, error.code) == (401, "token_expired")


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "another-client"},
        {"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"},
        {"token_use": "access"},  # an access token of the same pool is not an ID token
        {"exp": None},
        {"email": None},
    ],
    ids=["wrong-audience", "wrong-issuer", "access-token", "no-expiry", "no-email"],
)
def test_a_token_for_someone_else_is_refused(
    verifier: TokenVerifier, changes: dict[str, Any]
) -> None:
    error = _refused(verifier, _token(**changes))
    assert (error.status, error.code) == (401, "invalid_token")


def test_a_tampered_token_is_refused(verifier: TokenVerifier) -> None:
    header, payload, signature = _token().split(".")
    forged = _token(sub="person-2").split(".")[1]  # another person's claims, our signature
    assert _refused(verifier, f"{header}.{forged}.{signature}").code == "invalid_token"
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert _refused(verifier, f"{header}.{payload}.{flipped}").code == "invalid_token"


def test_a_token_signed_with_another_key_is_refused(verifier: TokenVerifier) -> None:
    assert _refused(verifier, _token(key=STRANGER_KEY)).code == "invalid_token"
    assert _refused(verifier, _token(key=STRANGER_KEY, kid="unknown")).code == "invalid_token"


def test_a_symmetric_or_unsigned_token_is_refused(verifier: TokenVerifier) -> None:
    # HS256 keyed with the public key's bytes: the classic algorithm-confusion forgery.
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(POOL_KEY.public_key()))
    assert _refused(verifier, _token(key=jwk["n"], alg="HS256")).code == "invalid_token"
    unsigned = jwt.encode({"sub": "x"}, None, algorithm="none", headers={"kid": "pool-key"})
    assert _refused(verifier, unsigned).code == "invalid_token"


def test_garbage_is_refused(verifier: TokenVerifier) -> None:
    assert _refused(verifier, "not.a.token").code == "invalid_token"
