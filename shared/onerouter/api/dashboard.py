"""The dashboard's built files (web/dist), served by `onerouter dev` at `/`.

Deployed, CloudFront serves them from S3 with the same security headers (template.yaml,
DashboardHeaders). The page's own routes (/keys, /logs, ...) all get index.html: the single
page reads its route from the address.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import NotFound

# Only the page's own files, addresses and API calls: no inline script, no third party.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
PAGES = (
    "",
    "sign-in",
    "sign-up",
    "confirm",
    "models",
    "keys",
    "credits",
    "activity",
    "logs",
    "settings",
)


class _Assets(StaticFiles):
    async def get_response(self, path: str, scope: object) -> Response:
        response = await super().get_response(path, scope)  # type: ignore[arg-type]
        response.headers.update(SECURITY_HEADERS)
        # Vite names built assets by their content: they never change under one name.
        response.headers["cache-control"] = "public, max-age=31536000, immutable"
        return response


def routes(folder: Path) -> list[BaseRoute]:
    """The page routes and /assets, or, without a build, pages that say how to make one."""
    index = folder / "index.html"

    async def page(request: Request) -> Response:
        if not index.is_file():
            raise NotFound(
                "The dashboard is not built: `make dev` builds it (it needs Node.js 20+), "
                "or run `npm ci && npm run build` in web/.",
                code="dashboard_not_built",
            )
        # index.html names the current assets: always revalidate it.
        return FileResponse(index, headers={**SECURITY_HEADERS, "cache-control": "no-cache"})

    served: list[BaseRoute] = [Route(f"/{name}", page, methods=["GET", "HEAD"]) for name in PAGES]
    if (folder / "assets").is_dir():
        served.append(Mount("/assets", app=_Assets(directory=folder / "assets")))
    # Files Vite copies to the root (an icon): each its own route.
    for file in sorted(folder.glob("*")) if folder.is_dir() else []:
        if file.is_file() and file.name != "index.html":
            served.append(Route(f"/{file.name}", _file(file), methods=["GET", "HEAD"]))
    return served


def _file(path: Path) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        return FileResponse(path, headers={**SECURITY_HEADERS, "cache-control": "no-cache"})

    return serve
