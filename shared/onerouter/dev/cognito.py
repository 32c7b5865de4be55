"""Local sign-up confirmation: moto's Cognito sends no email and accepts any code, so locally
the code is made here, printed on the `onerouter dev` console (where Cognito would email it),
and checked here before Cognito's own confirmation. Moto also lacks RevokeToken: signed-out
refresh tokens are refused here instead.

Only the dev runner (and tests) use this; deployed, Cognito itself emails and checks codes.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Any

from ..accounts.cognito import Cognito, Tokens
from ..errors import AuthenticationFailed, InvalidRequest


class ConsoleCognito(Cognito):
    confirmation = "console"

    def __init__(
        self, client_id: str, say: Callable[[str], None] = print, client: Any = None
    ) -> None:
        super().__init__(client_id, client)
        self._say = say
        self._codes: dict[str, str] = {}
        self._revoked: set[str] = set()
        self._lock = threading.Lock()

    def code_for(self, email: str) -> str | None:
        """The code last sent to `email` (what a test reads instead of an inbox)."""
        with self._lock:
            return self._codes.get(email)

    def sign_up(self, email: str, password: str) -> None:
        super().sign_up(email, password)
        self._send_code(email)

    def resend_code(self, email: str) -> None:
        self._send_code(email)

    def confirm(self, email: str, code: str) -> None:
        with self._lock:
            expected = self._codes.get(email)
        if expected is None or not secrets.compare_digest(expected, code):
            raise InvalidRequest(
                "That confirmation code is not right; check the email and try again.",
                code="invalid_code",
                param="code",
            )
        super().confirm(email, code)
        with self._lock:
            self._codes.pop(email, None)

    def refresh(self, refresh_token: str) -> Tokens:
        with self._lock:
            revoked = refresh_token in self._revoked
        if revoked:
            raise AuthenticationFailed("Incorrect email or password.", code="wrong_credentials")
        return super().refresh(refresh_token)

    def sign_out(self, refresh_token: str) -> None:
        with self._lock:
            self._revoked.add(refresh_token)

    def _send_code(self, email: str) -> None:
        code = f"{secrets.randbelow(1_000_000):06d}"
        with self._lock:
            self._codes[email] = code
        self._say(f"OneRouter dev: the confirmation code for {email} is {code}")
