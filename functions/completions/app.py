"""Streaming front door: the OneRouter ASGI app, served by uvicorn behind Lambda Web Adapter."""

from onerouter.api.app import create_app

app = create_app()
