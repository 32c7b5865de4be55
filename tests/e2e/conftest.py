"""What the provider modules share: a gateway of their own, on a catalog of their own."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import yaml

from onerouter.api.app import create_app
from onerouter.settings import Settings
from tests.fakes.gateway import ServerThread, StartGateway


@pytest.fixture(scope="module")
def start_gateway(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StartGateway]:
    """`start_gateway(catalog, keys)`: a gateway serving `catalog`, with the providers' keys
    (`keys`, by variable name) beside the test environment's; stopped when the module ends."""
    with ExitStack() as running:

        def start(catalog: dict[str, Any], keys: dict[str, str]) -> ServerThread:
            path = tmp_path_factory.mktemp("catalog") / "catalog.yaml"
            path.write_text(yaml.safe_dump(catalog), encoding="utf-8")
            environ = {**settings.environ, **keys}
            own = dataclasses.replace(settings, catalog_path=path, environ=environ)
            return running.enter_context(ServerThread(create_app(own), name="own-gateway"))

        yield start
