"""Verifying a dashboard user's Cognito ID token: signature against the user pool's published
keys (JWKS, fetched once and kept), then issuer, audience (the app client), expiry and use.

Anything else is a 401. The keys are fetched lazily, on the first token, and again only when a
token names a key id not seen yet (Cognito rotates keys rarely); PyJWT's `PyJWKClient` does the
fetching and keeping. PyJWT (and the X.509 half of cryptography, ~130 ms) is imported on the
first token, never by a cold start that serves only API keys.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import AuthenticationFailed

# Seconds of clock difference tolerated on `exp` and `iat`.
if TYPE_CHECKING:
    import jwt

LEEWAY = 30
# How long fetched keys are trusted before they are fetched again (seconds).
JWKS_LIFESPAN = 6 * 3600


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a valid ID token says is signed in."""

    sub: str
    email: str


class TokenVerifier:
    def __init__(self, jwks_url: str, issuer: str, client_id: str) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.client_id = client_id
        self._jwks: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    def _keys(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._jwks is None:
                import jwt

                self._jwks = jwt.PyJWKClient(
                    self.jwks_url, cache_keys=True, lifespan=JWKS_LIFESPAN, timeout=5
                )
            return self._jwks

    def verify(self, token: str) -> Identity:
        """The identity in `token`, or AuthenticationFailed. Blocking on a key fetch: call it
        off the event loop."""
        import jwt

        try:
            key = self._keys().get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError:
            raise AuthenticationFailed(
                "Sign-in could not be checked just now; try again.", code="token_unverifiable"
            ) from None
        except jwt.PyJWTError:
            raise _invalid() from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.client_id,
                issuer=self.issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "token_use"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed(
                "Your session has expired; sign in again.", code="token_expired"
            ) from None
        except jwt.PyJWTError:
            raise _invalid() from None
        # An access token (or any other) is not an ID token, even from the same pool.
        if claims.get("token_use") != "id" or not isinstance(claims.get("email"), str):
            raise _invalid()
        return Identity(sub=str(claims["sub"]), email=claims["email"])


def _invalid() -> AuthenticationFailed:
    return AuthenticationFailed("Invalid sign-in token; sign in again.", code="invalid_token")
