"""The `azure` protocol: Azure OpenAI deployments.

The wire format is OpenAI's; what differs is where and how to call: the deployment (the
endpoint's `model` in the catalog) is part of the URL, the API version is a query parameter,
and the key travels in an `api-key` header.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..requests import EmbeddingGatewayRequest, GatewayRequest
from .base import Target
from .openai import OpenAIAdapter, to_embedding_request, to_provider_request

# Azure's GA data-plane API version; a provider may name another in the catalog.
DEFAULT_API_VERSION = "2024-10-21"

_PATHS = {"chat": "chat/completions", "completion": "completions", "embedding": "embeddings"}


def deployment_url(target: Target, operation: str) -> str:
    base = target.provider.base_url.rstrip("/")
    version = target.provider.api_version or DEFAULT_API_VERSION
    return (
        f"{base}/openai/deployments/{target.endpoint.model}/{_PATHS[operation]}"
        f"?api-version={version}"
    )


def to_azure_request(request: GatewayRequest) -> dict[str, Any]:
    body = to_provider_request(request, provider_model="")
    del body["model"]  # the deployment in the URL names the model
    return body


def to_azure_embedding_request(request: EmbeddingGatewayRequest) -> dict[str, Any]:
    body = to_embedding_request(request, provider_model="")
    del body["model"]  # the deployment in the URL names the model
    return body


class AzureAdapter(OpenAIAdapter):
    def _url(self, target: Target, request: GatewayRequest | EmbeddingGatewayRequest) -> str:
        return deployment_url(target, request.operation)

    def _headers(self, target: Target) -> dict[str, str]:
        headers = {"content-type": "application/json", **target.provider.headers}
        if target.api_key:
            headers["api-key"] = target.api_key
        return headers

    def _body(self, target: Target, request: GatewayRequest) -> bytes:
        return orjson.dumps(to_azure_request(request))

    def _embedding_body(self, target: Target, request: EmbeddingGatewayRequest) -> bytes:
        return orjson.dumps(to_azure_embedding_request(request))
