"""Walk every route of the intake as another watch's coordinator: nothing of the Kempston Speed
Watch's report is readable or actionable with the Cauldwell Street Watch's key, and webhooks
refuse unsigned requests. New routes are walked automatically."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.routing import APIRoute

from tests.unit.test_watch_api import api, route  # noqa: F401  (the fixture)


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every endpoint, through included routers (``original_router`` in newer FastAPI)."""
    for r in routes:
        if isinstance(r, APIRoute):
            yield r
        elif (inner := getattr(r, "original_router", None)) is not None:
            yield from api_routes(inner.routes)
        elif (inner_routes := getattr(r, "routes", None)) is not None:
            yield from api_routes(inner_routes)


OTHER_WATCH = {"X-API-Key": "dev-watch-cauldwell"}
MARKER = "Zebrafinch"
ACTION = {"public_text": "We spoke to the drivers", "kind": "action"}


def test_another_watchs_key_reaches_none_of_this_watchs_data(api) -> None:  # noqa: F811
    reference = route(api, text=f"Cars racing on Bedford Road, {MARKER} van every night")
    own = api.get("/v1/watches/kempston-speed-watch/items", headers={"X-API-Key": "dev-watch-kempston-speed"})
    assert MARKER in own.text  # the data is there, for its own watch
    values = {"reference": reference, "watch_id": "kempston-speed-watch", "cluster_id": "0" * 36}
    walked = 0
    for r in api_routes(api.app.routes):
        if r.path in {"/openapi.json", "/docs", "/redoc"}:
            continue
        path = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), "x"), r.path)
        for method in sorted((r.methods or set()) - {"HEAD"}):
            response = api.request(method, path, headers=OTHER_WATCH, json=ACTION if method != "GET" else None)
            walked += 1
            where = f"{method} {r.path} -> {response.status_code}"
            assert MARKER not in response.text, where
            if r.path.startswith("/v1/") and "{" in r.path and response.status_code < 400:
                assert r.path.startswith("/v1/unsubscribe"), where  # the only keyless one: a signed token
            if r.path.startswith("/webhooks/"):
                assert response.status_code in (401, 403), where
    assert walked >= 10
    # and it cannot act on the other watch's report
    acted = api.post(f"/v1/reports/{reference}/actions", json=ACTION, headers=OTHER_WATCH)
    assert acted.status_code == 403
    assert api.recorder.events == []
