"""The OpenAPI description of the JSON API: a valid OpenAPI 3.1 document, served, and in step
with the route table (every route under modelvault/api is described, nothing else is)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from openapi_spec_validator import validate
from tornado.web import RequestHandler

from modelvault_jlab.web.openapi import API_PATH, load_spec
from modelvault_jlab.web.routes import ROUTES
from tests.servers import RunningServer

VERBS = ("get", "post", "put", "patch", "delete", "head", "options")


def _methods(handler: type[RequestHandler]) -> set[str]:
    """The verbs a handler implements (tornado answers 405 to the others)."""
    return {v for v in VERBS if getattr(handler, v) is not getattr(RequestHandler, v)}


def _groups(pattern: str) -> list[str]:
    """The capturing groups of a route pattern, outermost first, without their parentheses."""
    out: list[str] = []
    starts: list[int | None] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            starts.append(None if pattern.startswith("?", i + 1) else i + 1)
        elif c == ")":
            start = starts.pop()
            if start is not None and not starts:
                out.append(pattern[start:i])
        i += 1
    return out


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _path_params(spec: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    item = spec["paths"][path]
    params = [_resolve(spec, p) for p in item.get("parameters", [])]
    for verb in VERBS:
        params += [_resolve(spec, p) for p in item.get(verb, {}).get("parameters", [])]
    return {p["name"]: p for p in params if p["in"] == "path"}


def _param_regex(spec: dict[str, Any], param: dict[str, Any]) -> str:
    schema = _resolve(spec, param["schema"])
    if "enum" in schema:
        return "|".join(schema["enum"])
    pattern: str = schema["pattern"]
    assert pattern.startswith("^") and pattern.endswith("$"), param["name"]
    return pattern[1:-1]


def _api_routes() -> list[tuple[str, type[RequestHandler]]]:
    return [(p, h) for p, h in ROUTES if p.startswith(API_PATH + "/")]


def test_description_is_valid_openapi_3_1() -> None:
    spec = load_spec()
    validate(spec)
    assert spec["openapi"].startswith("3.1.")


def test_every_api_route_is_described_and_nothing_else() -> None:
    """Each described path, filled in with its examples, reaches the route whose handler
    implements exactly the described verbs, and whose groups accept exactly what the parameters'
    schemas allow; every route under modelvault/api is reached by one described path."""
    spec = load_spec()
    reached: dict[str, str] = {}
    for path, item in spec["paths"].items():
        params = _path_params(spec, path)
        names = re.findall(r"\{([^}]+)\}", path)
        assert set(names) == set(params), f"{path}: path parameters {sorted(params)}"
        examples = {name: str(p["example"]) for name, p in params.items()}
        url = API_PATH + path.format_map(examples)
        # tornado takes the first route that matches (route_table appends /?$)
        route = next(((p, h) for p, h in ROUTES if re.match(p + "/?$", url)), None)
        assert route is not None, f"{path}: no route matches {url}"
        pattern, handler = route
        assert pattern.startswith(API_PATH + "/"), f"{path} reaches a non-API route {pattern}"
        assert pattern not in reached, f"{path} and {reached.get(pattern)} describe one route"
        reached[pattern] = path
        described = {v for v in VERBS if v in item}
        assert described == _methods(handler), f"{path}: {handler.__name__} implements other verbs"
        assert _groups(pattern) == [_param_regex(spec, params[n]) for n in names], path
    missing = [p for p, _ in _api_routes() if p not in reached]
    assert not missing, f"routes not in openapi.yaml: {missing}"


def test_route_groups_helper_sees_nested_and_non_capturing_groups() -> None:
    # the helper above must not pass vacuously
    assert _groups(r"a/([a-z]{1,3})/(?:x|y)/((b|c)d)") == ["[a-z]{1,3}", "(b|c)d"]
    assert _groups(r"a/([(])/(\))") == ["[(]", r"\)"]


def test_served_description_is_public_and_names_this_server(
    standalone_server: RunningServer,
) -> None:
    r = httpx.get(standalone_server.api("openapi.json"))  # no credential
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    served = r.json()
    assert served["servers"] == [{"url": standalone_server.url + API_PATH}]
    assert {k: v for k, v in served.items() if k != "servers"} == {
        k: v for k, v in load_spec().items() if k != "servers"
    }
