"""`workers.workflows`, as in Cloudflare's Python Workflows SDK."""

from __future__ import annotations

from host.errors import NonRetryableError

__all__ = ["NonRetryableError"]
