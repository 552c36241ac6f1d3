"""The base class of Cloudflare's class-form worker (`class Default(WorkerEntrypoint)`)."""

from __future__ import annotations

from typing import Any


class WorkerEntrypoint:
    """Base of `class Default(WorkerEntrypoint)`: one instance per request, with self.env and self.ctx."""

    def __init__(self, ctx: Any, env: Any) -> None:
        self.ctx = ctx
        self.env = env
