"""A deployment whose worker drives env.CACHE (KV), env.DB (D1) and env.FILES (R2) from JSON
requests, so tests reach the bindings through a served host: POST /op {"on": ..., "op": ..., ...}."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import ServerProcess, make_deployment

WORKER = """
import base64

from host.errors import WaypostError
from workers import Response


async def fetch(request, env):
    body = await request.json()
    try:
        return await OPS[body["on"]](env, body)
    except (WaypostError, ValueError) as exc:
        return Response.json({"error": type(exc).__name__, "message": str(exc)}, status=400)


def value_of(body):
    if "size" in body:
        return "x" * body["size"]
    if "b64" in body:
        return base64.b64decode(body["b64"])
    return body.get("value")


async def kv(env, body):
    op, key, opts = body["op"], body.get("key"), body.get("options") or {}
    if op == "put":
        await env.CACHE.put(key, value_of(body), **opts)
        return {"ok": True}
    if op == "put_dict":
        await env.CACHE.put(key, value_of(body), opts)
        return {"ok": True}
    if op == "get":
        return {"value": await env.CACHE.get(key, **opts)}
    if op == "get_dict":
        return {"value": await env.CACHE.get(key, opts)}
    if op == "meta":
        found = await env.CACHE.getWithMetadata(key, **opts)
        return {"value": found.value, "metadata": found.metadata}
    if op == "delete":
        await env.CACHE.delete(key)
        return {"ok": True}
    if op == "list":
        page = await env.CACHE.list(**opts)
        return {"keys": page.keys, "list_complete": page.list_complete, "cursor": page.get("cursor")}
    raise ValueError(f"unknown op {op}")


async def d1(env, body):
    op = body["op"]
    if op == "exec":
        done = await env.DB.exec(body["sql"])
        return {"count": done.count}
    if op == "batch":
        results = await env.DB.batch([env.DB.prepare(s).bind(*p) for s, p in body["statements"]])
        return {"results": [r.results for r in results], "changes": [r.meta.changes for r in results]}
    stmt = env.DB.prepare(body["sql"]).bind(*body.get("params", []))
    if op == "first":
        return {"row": await stmt.first(*body.get("args", []))}
    if op == "raw":
        return {"rows": await stmt.raw(column_names=True)}
    result = await (stmt.run() if op == "run" else stmt.all())
    meta = result.meta
    return {
        "results": result.results,
        "success": result.success,
        "meta": {"changes": meta.changes, "last_row_id": meta.last_row_id, "duration": meta["duration"]},
    }


def shown(obj):
    return None if obj is None else {
        "key": obj.key, "size": obj.size, "etag": obj.etag, "uploaded": obj.uploaded.isoformat(),
        "http_metadata": obj.http_metadata, "custom_metadata": obj.customMetadata,
    }


async def r2(env, body):
    op, key, opts = body["op"], body.get("key"), body.get("options") or {}
    if op == "put":
        return shown(await env.FILES.put(key, value_of(body), **opts))
    if op == "get":
        obj = await env.FILES.get(key, **opts)
        if obj is None:
            return {"found": None}
        data = await obj.arrayBuffer()
        return {"found": shown(obj), "text": await obj.text(), "b64": base64.b64encode(data).decode()}
    if op == "head":
        return {"found": shown(await env.FILES.head(key))}
    if op == "delete":
        await env.FILES.delete(body.get("keys", key))
        return {"ok": True}
    if op == "list":
        page = await env.FILES.list(**opts)
        return {
            "keys": [o.key for o in page.objects],
            "truncated": page.truncated,
            "cursor": page.get("cursor"),
            "prefixes": page.delimited_prefixes,
        }
    raise ValueError(f"unknown op {op}")


OPS = {"kv": kv, "d1": d1, "r2": r2}
"""

CONFIG = """
workers:
  - name: app
    main: functions/app.py
    routes: ["/*"]
    kv_namespaces: [{binding: CACHE, id: main}]
    d1_databases: [{binding: DB, database_name: quotes, database_id: "00000000-0000"}]
    r2_buckets: [{binding: FILES, bucket_name: uploads}]
"""


def storage_deployment(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    return make_deployment(tmp_path, {"functions/app.py": WORKER, **(files or {})}, CONFIG)


def call(server: ServerProcess, on: str, op: str, **body: Any) -> httpx.Response:
    # ASCII JSON, so keys that are not valid Unicode (lone surrogates) reach the worker too
    text = json.dumps({"on": on, "op": op, **body})
    return server.post("/op", content=text, headers={"content-type": "application/json"})


def ok(server: ServerProcess, on: str, op: str, **body: Any) -> Any:
    answer = call(server, on, op, **body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def refused(server: ServerProcess, on: str, op: str, **body: Any) -> str:
    """The message of a 400 (bad input, or D1's SQL error)."""
    answer = call(server, on, op, **body)
    assert answer.status_code == 400, answer.text
    return str(answer.json()["message"])
