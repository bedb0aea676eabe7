"""Every id a caller can send, in a path or a body, is bounded: a huge, negative or zero id is a
4xx answer on every route of the OpenAPI document, never a database overflow (5xx)."""

from __future__ import annotations

import io
from typing import Any

from server.services.ids import MAX_ID
from tests.api.test_permission_matrix import CASES, ROSTER, Case, _prepare
from tests.api.world import World, build_world

BAD_IDS = (MAX_ID + 1, 2**64, 10**30, -1, -(2**63) - 1, 0)
CALLERS = ("admin", "student")


def _operations(openapi: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, ops in openapi["paths"].items()
        for method, op in ops.items()
    }


def _integer_path_params(op: dict[str, Any]) -> list[str]:
    return [
        p["name"]
        for p in op.get("parameters", [])
        if p["in"] == "path" and p["schema"].get("type") == "integer"
    ]


def _body_schema(openapi: dict[str, Any], op: dict[str, Any]) -> dict[str, Any] | None:
    content = op.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return None
    ref = schema.get("$ref", "")
    resolved: dict[str, Any] = openapi["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return resolved


def _id_fields(schema: dict[str, Any]) -> list[str]:
    return [name for name in schema.get("properties", {}) if name.endswith(("_id", "_ids"))]


def _url_with(case: Case, world: World, actor: str, param: str, value: int) -> str:
    """The case's concrete URL with the segment of ``{param}`` replaced by ``value``."""
    url, _, query = case.url(world, actor).partition("?")
    parts = url.split("/")
    template = case.path.split("/")
    assert len(parts) == len(template), (case.path, url)
    parts[template.index("{" + param + "}")] = str(value)
    return "/".join(parts) + (f"?{query}" if query else "")


async def _send(world: World, actor: str, case: Case, url: str, body: Any) -> int:
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs["json"] = body
    if case.files:
        kwargs["files"] = {"file": ("users.csv", io.BytesIO(ROSTER), "text/csv")}
    resp = await world.call(actor, case.method, url, **kwargs)
    return resp.status_code


def _integers(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The integer schemas inside ``schema`` (itself, a nullable's branches, a list's items)."""
    if schema.get("type") == "integer":
        return [schema]
    found = [s for branch in schema.get("anyOf", []) for s in _integers(branch)]
    return found + _integers(schema["items"]) if "items" in schema else found


def _bounded_text(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "array":
        return "maxItems" in schema and _bounded_text(schema.get("items", {}))
    return schema.get("type") == "string" and "maxLength" in schema


def _bounded(schema: dict[str, Any]) -> bool:
    ints = _integers(schema)  # OpenAPI numbers come out as floats: compare as numbers
    return bool(ints) and all(
        s.get("minimum") == 1 and s.get("maximum") in (MAX_ID, float(MAX_ID)) for s in ints
    )


def test_every_integer_id_is_bounded_in_the_schema() -> None:
    from server.app import create_app
    from server.settings import Settings

    openapi = create_app(
        Settings(database_url="sqlite+aiosqlite://", secret_key="x" * 40)
    ).openapi()
    unbounded: list[str] = []
    for (method, path), op in _operations(openapi).items():
        for param in op.get("parameters", []):
            if param["schema"].get("type") == "integer" and not _bounded(param["schema"]):
                unbounded.append(f"{method} {path} {param['name']}")
        body = _body_schema(openapi, op) or {}
        for name in _id_fields(body):
            field = body["properties"][name]
            # integer ids are ours (1..MAX_ID); text ids come from other systems (an LMS's
            # client_id, deployment ids) and must be bounded in length (and count)
            if not (_bounded(field) if _integers(field) else _bounded_text(field)):
                unbounded.append(f"{method} {path} body.{name}")
    assert unbounded == []


async def test_out_of_range_ids_never_give_5xx(app_and_client: Any) -> None:
    app, client = app_and_client
    world = await build_world(app, client)
    await _prepare(world)
    openapi = app.openapi()
    operations = _operations(openapi)
    cases = {(case.method, case.path): case for case in CASES}
    assert set(cases) == set(operations), "the permission matrix must name every route"
    swept = 0
    failures: list[str] = []
    for key, op in operations.items():
        case = cases[key]
        schema = _body_schema(openapi, op)
        for actor in CALLERS:
            base = case.body(world, actor) if case.body is not None else None
            for value in BAD_IDS:
                for param in _integer_path_params(op):
                    url = _url_with(case, world, actor, param, value)
                    status = await _send(world, actor, case, url, base)
                    swept += 1
                    if status >= 500 or status < 400:
                        failures.append(f"{key} {param}={value} as {actor}: {status}")
                for name in _id_fields(schema or {}):
                    body = {**(base or {}), name: [value] if name.endswith("_ids") else value}
                    status = await _send(world, actor, case, case.url(world, actor), body)
                    swept += 1
                    if status >= 500 or status < 400:
                        failures.append(f"{key} body.{name}={value} as {actor}: {status}")
    assert swept > 100
    assert failures == [], "\n".join(failures)


async def test_student_reads_a_huge_session_id(app_and_client: Any) -> None:
    app, client = app_and_client
    world = await build_world(app, client)
    resp = await world.call("student", "GET", "/api/sessions/9223372036854775808")
    assert resp.status_code == 422
    assert "9223372036854775807" in resp.text
