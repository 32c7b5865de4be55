"""The Lambda entry points, driven with real API Gateway event shapes from events/."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from onerouter.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _load(function: str, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in settings.environ.items():
        if name not in os.environ or os.environ[name] != value:
            monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location(
        f"function_{function}", ROOT / "functions" / function / "app.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / name).read_text())
    return event


def test_api_function_serves_models(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    handler = _load("api", settings, monkeypatch).handler
    response = handler(_event("get_v1_models.json"), None)
    assert response["statusCode"] == 200
    models = json.loads(response["body"])["data"]
    assert {m["id"] for m in models} >= {"test/chat", "test/solo"}
    offline = next(m for m in models if m["id"] == "test/offline")
    assert offline["available"] is False


def test_api_function_serves_one_model_with_a_slash_in_its_id(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = _load("api", settings, monkeypatch).handler
    event = _event("get_v1_models.json")
    event["path"] = "/v1/models/test/chat"
    event["resource"] = "/v1/models/{id+}"
    event["pathParameters"] = {"id": "test/chat"}
    response = handler(event, None)
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body["id"] == "test/chat"
    assert [e["provider"] for e in body["endpoints"]] == ["backup", "primary"]
    assert body["pricing"] == {"prompt": "1", "completion": "2", "request": "0"}


def test_api_function_health(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    handler = _load("api", settings, monkeypatch).handler
    response = handler(_event("get_health.json"), None)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "ok"}


def test_completions_function_exposes_the_app(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _load("completions", settings, monkeypatch).app
    with TestClient(app) as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert client.post("/v1/chat/completions", json={}).status_code == 401
    run_sh = ROOT / "functions" / "completions" / "run.sh"
    assert os.access(run_sh, os.X_OK)
    assert "uvicorn app:app" in run_sh.read_text()
