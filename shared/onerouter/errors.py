"""One error hierarchy, raised anywhere and rendered to OpenAI-shaped JSON in one place.

Statuses line up with the OpenAI SDK's exception classes, so a client catching
``openai.NotFoundError`` or ``openai.RateLimitError`` sees what it expects.
"""

from __future__ import annotations

from typing import Any


class OneRouterError(Exception):
    status: int = 500
    type: str = "server_error"
    code: str | int = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | int | None = None,
        metadata: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.metadata = metadata
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.type,
            "code": self.code,
            "param": self.param,
        }
        if self.metadata is not None:
            error["metadata"] = self.metadata
        return {"error": error}


class InvalidRequest(OneRouterError):
    status, type, code = 400, "invalid_request_error", "invalid_request"


class AuthenticationFailed(OneRouterError):
    status, type, code = 401, "authentication_error", "invalid_api_key"


class InsufficientCredits(OneRouterError):
    status, type, code = 402, "insufficient_quota", "insufficient_credits"


class PermissionDenied(OneRouterError):
    status, type, code = 403, "permission_error", "forbidden"


class NotFound(OneRouterError):
    status, type, code = 404, "invalid_request_error", "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class UpstreamTimeout(OneRouterError):
    status, type, code = 408, "timeout_error", "upstream_timeout"


class PayloadTooLarge(OneRouterError):
    status, type, code = 413, "invalid_request_error", "request_too_large"


class RateLimited(OneRouterError):
    status, type, code = 429, "rate_limit_error", "rate_limited"


class UpstreamFailed(OneRouterError):
    """Every provider tried failed; the message lists what was tried, never the prompt."""

    status, type, code = 502, "upstream_error", "upstream_error"


class NoProviderAvailable(OneRouterError):
    status, type, code = 503, "service_unavailable", "no_provider_available"
