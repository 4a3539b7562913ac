"""The storefront's OpenAPI document, made to say what the API answers.

FastAPI documents what a route declares; the gateway also answers from its door policies
and dependencies. `install_openapi` adds those answers to every `/api` operation from what
the route really depends on, so nothing is listed by hand per router:

- 400 (validation; every route takes input), 429 (per-address limit on every `/api` call),
  503 (the app behind it is away), 413 on routes with a body;
- 401 where the route reads the bearer token (a bad token is refused even where none is
  needed), 403 where it needs a role (staff, admin);
- JSON-valued query parameters (`filters`) described as JSON of their model, not as text.
"""

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from apps.contracts.catalog import ListFilters
from apps.contracts.errors import ErrorResponse
from apps.contracts.schema import forbid_nul
from apps.storefront.auth import current_principal

#: What the apps behind the gateway answer (routers list them once).
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 404, 409, 422, 503)
}
DESCRIPTIONS = {
    400: "Invalid request (the standard error format says which field)",
    401: "Missing, invalid or expired bearer token",
    403: "Signed in without the role this needs",
    413: "Request body too large",
    414: "Request URL too long (32 KB at most)",
    429: "Too many requests from this address or account (see Retry-After)",
    503: "A service behind the gateway is unavailable; try again",
}
#: Routes that answer 401 by their own rules (wrong password, spent refresh token).
AUTH_REFUSED: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Credentials refused"}
}
JSON_QUERY_PARAMETERS: dict[str, type] = {"filters": ListFilters}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def _answers(route: APIRoute) -> set[int]:
    calls = list(_calls(route.dependant))
    codes = {400, 429, 503}
    if current_principal in calls:
        codes.add(401)
    if any(getattr(c, "__qualname__", "").startswith("at_least.") for c in calls):
        codes.add(403)
    return codes


def _no_null(param: dict[str, Any]) -> None:
    """An optional parameter is one that may be left out (`required: false`); a header or
    query value is text and cannot be JSON null, so `anyOf: [X, null]` says just X."""
    schema = param.get("schema", {})
    options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
    if len(options) == 1 and len(schema["anyOf"]) == 2:
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        param["schema"] = {**options[0], **rest}


SIDECAR_ONLY_PREFIXES = ("/events/", "/dapr/")


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        # The routes only the sidecar may call (subscriptions, event deliveries) are not part
        # of the public contract: the document lists the API and health only.
        public = [
            r
            for r in app.routes
            if not (isinstance(r, APIRoute) and r.path.startswith(SIDECAR_ONLY_PREFIXES))
        ]
        doc = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=public,
        )
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
        components = doc.setdefault("components", {}).setdefault("schemas", {})
        for route in app.routes:
            if not isinstance(route, APIRoute) or not route.path.startswith("/api/"):
                continue
            for method in route.methods:
                op = doc["paths"][route.path_format][method.lower()]
                responses = op.setdefault("responses", {})
                codes = _answers(route) | ({413} if "requestBody" in op else set())
                if any(p.get("in") == "query" for p in op.get("parameters", [])):
                    codes.add(414)
                for code in codes:
                    responses.setdefault(
                        str(code), {"description": DESCRIPTIONS[code], "content": error}
                    )
                for param in op.get("parameters", []):
                    _no_null(param)
                    model = JSON_QUERY_PARAMETERS.get(param["name"])
                    if param.get("in") == "query" and model is not None:
                        components.setdefault(
                            model.__name__,
                            model.model_json_schema(ref_template="#/components/schemas/{model}"),
                        )
                        param.pop("schema", None)
                        ref = {"$ref": f"#/components/schemas/{model.__name__}"}
                        param["content"] = {"application/json": {"schema": ref}}
        forbid_nul(doc)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
