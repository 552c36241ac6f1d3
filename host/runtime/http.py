"""The Request and Response types worker handlers see."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response as StarletteResponse


class Request(StarletteRequest):
    """A Starlette Request with `await request.text()`, as Cloudflare's Python workers have."""

    async def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes are replaced)."""
        return (await self.body()).decode("utf-8", errors="replace")


class Response(StarletteResponse):
    """A Starlette Response that also takes Cloudflare's `status=` and has `Response.json(...)`."""

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
        *,
        status: int | None = None,
    ) -> None:
        if status is not None:
            status_code = status
        if media_type is None and isinstance(content, str):
            media_type = "text/plain"
        super().__init__(content, status_code, headers, media_type, background)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
        """A JSON response with `data` encoded compactly as UTF-8."""
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return cls(body.encode("utf-8"), status_code=status, headers=headers, media_type="application/json")

    @property
    def status(self) -> int:
        """The HTTP status code (Cloudflare's name for it)."""
        return self.status_code

    async def text(self) -> str:
        """The body decoded as text, for a response got back from a service binding."""
        return bytes(self.body).decode(self.charset, errors="replace")
