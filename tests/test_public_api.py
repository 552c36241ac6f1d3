"""The names worker code may import are pinned: changing them is a deliberate, visible act."""

from __future__ import annotations

import importlib
import sys

import host
from host import compat


def test_host_all_is_pinned() -> None:
    assert sorted(host.__all__) == [
        "InstanceExists",
        "InstanceNotFound",
        "NonRetryableError",
        "Response",
        "StepError",
        "WaitTimeoutError",
        "WorkerEntrypoint",
        "WorkflowEntrypoint",
        "__version__",
    ]
    for name in host.__all__:
        assert getattr(host, name) is not None
    assert host.__version__ == "0.1.0"


def test_workers_compat_all_is_pinned() -> None:
    assert sorted(compat.__all__) == [
        "FetchResponse",
        "Headers",
        "Request",
        "Response",
        "WorkerEntrypoint",
        "WorkflowEntrypoint",
        "fetch",
        "handler",
        "workflows",
    ]
    assert compat.workflows.__all__ == ["NonRetryableError"]


def test_workers_module_resolves_to_compat_after_register() -> None:
    compat.register()
    workers = importlib.import_module("workers")
    from workers.workflows import NonRetryableError  # type: ignore[import-not-found]

    assert workers is compat
    assert sys.modules["workers.workflows"] is compat.workflows
    assert NonRetryableError is host.NonRetryableError
    assert workers.Response is host.Response
    assert workers.WorkflowEntrypoint is host.WorkflowEntrypoint
    assert workers.WorkerEntrypoint is host.WorkerEntrypoint


def test_response_json_and_cloudflare_status_keyword() -> None:
    r = host.Response.json({"a": "é"}, status=201, headers={"x-a": "1"})
    assert (r.status_code, r.body, r.headers["x-a"]) == (201, '{"a":"é"}'.encode(), "1")
    assert r.media_type == "application/json"
    assert host.Response("hi", status=404).status_code == 404
