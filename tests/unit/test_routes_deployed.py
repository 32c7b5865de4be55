"""Every route the app serves has an API Gateway event in template.yaml: a route left out would
work locally and answer 403 "Missing Authentication Token" once deployed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from starlette.routing import Mount, Route

from onerouter.api import dashboard
from onerouter.api.app import create_app
from onerouter.dev.template import _CloudFormationLoader
from onerouter.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def deployed() -> list[tuple[str, re.Pattern[str]]]:
    """(method, path pattern) of every Api event in the template."""
    template: dict[str, Any] = yaml.load(
        (ROOT / "template.yaml").read_text(encoding="utf-8"), Loader=_CloudFormationLoader
    )
    events = []
    for resource in template["Resources"].values():
        for event in (resource.get("Properties") or {}).get("Events", {}).values():
            if event.get("Type") != "Api":
                continue
            path = event["Properties"]["Path"]
            pattern = re.sub(r"\{[^}/]+\+\}", ".+", path)
            pattern = re.sub(r"\{[^}/]+\}", "[^/]+", pattern)
            events.append((event["Properties"]["Method"].upper(), re.compile(pattern + "$")))
    return events


def served() -> list[tuple[str, str]]:
    """(method, an example path) of every route the app serves, but the dashboard's pages and
    files: deployed, CloudFront serves those from S3 (DashboardDistribution)."""
    settings = Settings()
    app = create_app(settings)
    pages = {route.path for route in dashboard.routes(settings.dashboard_dir)}
    routes = []
    for mount in app.routes:
        if getattr(mount, "path", None) in pages:
            continue
        inner = mount.routes if isinstance(mount, Mount) else [mount]
        prefix = mount.path if isinstance(mount, Mount) else ""
        for route in inner:
            assert isinstance(route, Route)
            path = re.sub(r"\{[^}]+\}", "x", prefix + route.path)
            routes += [(method, path) for method in route.methods or () if method != "HEAD"]
    return routes


def test_every_route_is_deployed() -> None:
    events = deployed()
    missing = [
        f"{method} {path}"
        for method, path in served()
        if not any(m in (method, "ANY") and p.match(path) for m, p in events)
    ]
    assert not missing, f"no API Gateway event in template.yaml for: {missing}"


def test_the_dashboard_is_deployed_behind_cloudfront_with_the_api() -> None:
    template: dict[str, Any] = yaml.load(
        (ROOT / "template.yaml").read_text(encoding="utf-8"), Loader=_CloudFormationLoader
    )
    config = template["Resources"]["DashboardDistribution"]["Properties"]["DistributionConfig"]
    assert [b["PathPattern"] for b in config["CacheBehaviors"]] == ["/api/*"]
    headers = template["Resources"]["DashboardHeaders"]["Properties"]
    policy = headers["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    # The same Content-Security-Policy as `onerouter dev` sends.
    csp = policy["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert csp == dashboard.CONTENT_SECURITY_POLICY
