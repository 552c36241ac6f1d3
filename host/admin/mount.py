"""The route that gives the admin API every path under /client/v4, whatever characters the path holds."""

from __future__ import annotations

from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Scope


class PrefixMount(Mount):
    """A Mount of `app` at `path` that claims `path` itself and every path below it.

    Starlette's Mount matches with `.*`, which stops at a newline: a path with %0A in it would
    slip past and reach the worker routes (or Starlette's plain-text 404). This one compares
    prefixes instead, so no admin path can fall through.
    """

    def __init__(self, path: str, app: ASGIApp) -> None:
        super().__init__(path, app=app)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        root_path: str = scope.get("root_path", "")
        full: str = scope["path"]
        path = full[len(root_path) :] if root_path and full.startswith(root_path) else full
        if path != self.path and not path.startswith(self.path + "/"):
            return Match.NONE, {}
        return Match.FULL, {
            "app_root_path": scope.get("app_root_path", root_path),
            "root_path": root_path + self.path,
            "endpoint": self.app,
        }
