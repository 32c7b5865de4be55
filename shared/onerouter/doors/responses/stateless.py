"""The 400 for anything that needs stored state: this endpoint stores nothing."""

from __future__ import annotations

from ...errors import InvalidRequest


class StatelessEndpoint(InvalidRequest):
    code = "stateless_endpoint"


def stateless(what: str, param: str) -> StatelessEndpoint:
    return StatelessEndpoint(
        f"{what} is not supported: this endpoint is stateless and stores nothing. "
        "Send the whole conversation as `input` instead.",
        param=param,
    )
