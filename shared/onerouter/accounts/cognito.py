"""Amazon Cognito's user pool, as the dashboard's sign-in uses it: sign up with an email and a
password, confirm with the emailed code, sign in, refresh, sign out. Cognito keeps the
passwords; nothing here stores one.

The calls are Cognito's public (app client) operations, made with botocore; its errors become
OneRouter's OpenAI-shaped ones, which never repeat the password. Blocking: call off the event
loop.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import (
    AuthenticationFailed,
    InvalidRequest,
    OneRouterError,
    PermissionDenied,
    RateLimited,
)

logger = logging.getLogger("onerouter.auth")

# The user pool's password policy (template.yaml, UserPool): length, no composition rules.
PASSWORD_MIN_LENGTH = 12


class EmailTaken(OneRouterError):
    status, type, code = 409, "conflict", "email_taken"


class SignInUnavailable(OneRouterError):
    status, type, code = 503, "service_unavailable", "sign_in_unavailable"


@dataclass(frozen=True, slots=True)
class Tokens:
    id_token: str
    expires_in: int
    refresh_token: str | None  # None when refreshing: the refresh token stays the same


@functools.cache
def _client() -> Any:
    return botocore.session.get_session().create_client(
        "cognito-idp",
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, read_timeout=10),
    )


def _wrong_credentials() -> AuthenticationFailed:
    # The same words for an unknown email and a wrong password: no probing for accounts.
    return AuthenticationFailed("Incorrect email or password.", code="wrong_credentials")


# Cognito's error codes, by what they mean to the person at the form.
_ERRORS: dict[str, Any] = {
    "UsernameExistsException": lambda: EmailTaken(
        "An account with this email exists already; sign in instead.", param="email"
    ),
    "InvalidPasswordException": lambda: InvalidRequest(
        f"Choose a password of at least {PASSWORD_MIN_LENGTH} characters.",
        code="invalid_password",
        param="password",
    ),
    "CodeMismatchException": lambda: InvalidRequest(
        "That confirmation code is not right; check the email and try again.",
        code="invalid_code",
        param="code",
    ),
    "ExpiredCodeException": lambda: InvalidRequest(
        "That confirmation code has expired; ask for a new one.",
        code="expired_code",
        param="code",
    ),
    "NotAuthorizedException": _wrong_credentials,
    "UserNotFoundException": _wrong_credentials,
    "UserNotConfirmedException": lambda: PermissionDenied(
        "Confirm your email first: enter the code we sent you.", code="not_confirmed"
    ),
    "TooManyRequestsException": lambda: RateLimited("Too many attempts; wait a minute."),
    "TooManyFailedAttemptsException": lambda: RateLimited("Too many attempts; wait a minute."),
    "LimitExceededException": lambda: RateLimited("Too many attempts; wait a minute."),
}


class Cognito:
    """The user pool's app client. `client` is injectable for tests."""

    # How a new person gets their confirmation code: Cognito emails it.
    confirmation = "email"

    def __init__(self, client_id: str, client: Any = None) -> None:
        self.client_id = client_id
        self._injected = client

    @property
    def _cognito(self) -> Any:
        return self._injected or _client()

    def sign_up(self, email: str, password: str) -> None:
        self._call(
            "sign_up",
            ClientId=self.client_id,
            Username=email,
            Password=password,
            UserAttributes=[{"Name": "email", "Value": email}],
        )

    def confirm(self, email: str, code: str) -> None:
        self._call(
            "confirm_sign_up", ClientId=self.client_id, Username=email, ConfirmationCode=code
        )

    def resend_code(self, email: str) -> None:
        self._call("resend_confirmation_code", ClientId=self.client_id, Username=email)

    def sign_in(self, email: str, password: str) -> Tokens:
        answer = self._call(
            "initiate_auth",
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
        return _tokens(answer)

    def refresh(self, refresh_token: str) -> Tokens:
        answer = self._call(
            "initiate_auth",
            ClientId=self.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )
        return _tokens(answer)

    def sign_out(self, refresh_token: str) -> None:
        """Revokes the refresh token (and the tokens it issued)."""
        self._call("revoke_token", ClientId=self.client_id, Token=refresh_token)

    def _call(self, operation: str, **arguments: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = getattr(self._cognito, operation)(**arguments)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            make = _ERRORS.get(code)
            if make is not None:
                raise make() from None
            if code == "InvalidParameterException" and operation == "sign_up":
                raise InvalidRequest(
                    "Enter a valid email address.", code="invalid_email", param="email"
                ) from None
            logger.error("cognito: %s failed: %s", operation, code or "unknown error")
            raise SignInUnavailable("Sign-in is not available just now; try again.") from None
        except BotoCoreError as exc:
            logger.error("cognito: %s failed: %s", operation, type(exc).__name__)
            raise SignInUnavailable("Sign-in is not available just now; try again.") from None
        return answer


def _tokens(answer: dict[str, Any]) -> Tokens:
    result = answer.get("AuthenticationResult")
    if not result:
        # A challenge (a new password, MFA): this pool is set up to ask none.
        logger.error("cognito: sign-in answered a challenge: %s", answer.get("ChallengeName"))
        raise SignInUnavailable("This account needs a sign-in step the dashboard cannot do.")
    return Tokens(result["IdToken"], int(result["ExpiresIn"]), result.get("RefreshToken"))
