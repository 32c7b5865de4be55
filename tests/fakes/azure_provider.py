"""A fake Azure OpenAI resource: OpenAI's wire format at Azure's deployment URLs.

`POST /openai/deployments/{deployment}/chat/completions?api-version=...` (and `/completions`,
`/embeddings`),
keyed by an `api-key` header; everything else (replies, faults, recording, the check of the
body against the OpenAI SDK's types) is the OpenAI fake's.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tests.fakes.openai_provider import FakeOpenAIProvider, error_body


class FakeAzureOpenAI(FakeOpenAIProvider):
    name = "fake-azure"
    default_api_key = "azure-fake-key"
    base_path = ""

    def routes(self) -> list[BaseRoute]:
        deployment = "/openai/deployments/{deployment}"
        return [
            Route(f"{deployment}/chat/completions", self._azure(chat=True), methods=["POST"]),
            Route(f"{deployment}/completions", self._azure(chat=False), methods=["POST"]),
            Route(f"{deployment}/embeddings", self._azure(embed=True), methods=["POST"]),
        ]

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("api-key") == self.api_key

    def _problem(self, request: Request, body: dict[str, Any]) -> str | None:
        # The deployment in the URL names the model; a `model` in the body is ignored.
        return super()._problem(request, {"model": request.path_params["deployment"], **body})

    def _azure(self, chat: bool = False, embed: bool = False):  # type: ignore[no-untyped-def]
        complete = self._embed if embed else partial(self._complete, chat=chat)

        async def endpoint(request: Request) -> Response:
            if not request.query_params.get("api-version"):
                message = "Missing api-version query parameter (fake Azure)."
                return JSONResponse(error_body(message, "invalid_request_error", "404"), 404)
            return await complete(request)

        return endpoint
