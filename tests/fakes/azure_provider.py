"""A fake Azure OpenAI resource: OpenAI's wire format at Azure's deployment URLs.

`POST /openai/deployments/{deployment}/chat/completions?api-version=...` (and `/completions`),
keyed by an `api-key` header; everything else (replies, faults, recording) is the OpenAI fake's.
"""

from __future__ import annotations

from functools import partial

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.openai_provider import FakeOpenAIProvider, error_body


class FakeAzureOpenAI(FakeOpenAIProvider):
    def __init__(self, api_key: str = "azure-fake-key") -> None:
        super().__init__(api_key=api_key)
        deployment = "/openai/deployments/{deployment}"
        self.app = Starlette(
            routes=[
                Route(f"{deployment}/chat/completions", self._azure(chat=True), methods=["POST"]),
                Route(f"{deployment}/completions", self._azure(chat=False), methods=["POST"]),
            ]
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("api-key") == self.api_key

    def _azure(self, chat: bool):  # type: ignore[no-untyped-def]
        complete = partial(self._complete, chat=chat)

        async def endpoint(request: Request) -> Response:
            if not request.query_params.get("api-version"):
                message = "Missing api-version query parameter (fake Azure)."
                return JSONResponse(error_body(message, "invalid_request_error", "404"), 404)
            return await complete(request)

        return endpoint
