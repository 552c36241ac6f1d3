"""The route table: which worker serves a request, by path pattern and optional host; longest match wins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    """One pattern: `[host]/path`, where the path may end in `*` and the host may start with `*.`."""

    pattern: str
    worker: str
    host: str  # "" = any host
    path: str  # without a trailing "*"
    prefix: bool  # True when the pattern ended in "*"

    @classmethod
    def parse(cls, pattern: str, worker: str) -> Route:
        host, _, path = pattern.partition("/")
        path = "/" + path
        prefix = path.endswith("*")
        return cls(pattern, worker, host.lower(), path.removesuffix("*"), prefix)

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Longer literal text wins; on a tie an exact path beats a wildcard, a host beats none."""
        literal = len(self.host.removeprefix("*")) + len(self.path)
        return (literal, 0 if self.prefix else 1, 1 if self.host else 0)

    def matches(self, host: str, path: str) -> bool:
        if self.host and not _host_matches(self.host, host):
            return False
        if self.prefix:
            return path.startswith(self.path)
        return path == self.path


def _host_matches(pattern: str, host: str) -> bool:
    host = host.lower()
    if ":" not in pattern:
        host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


class RouteTable:
    """All routes of a deployment, tried most specific first."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = sorted(routes, key=lambda r: r.specificity, reverse=True)
        self.by_host = any(r.host for r in self.routes)  # False: the Host header need not be read

    @classmethod
    def build(cls, workers: Iterable[tuple[str, Iterable[str]]]) -> RouteTable:
        """From (worker name, route patterns) pairs."""
        return cls(Route.parse(p, name) for name, patterns in workers for p in patterns)

    def match(self, host: str, path: str) -> Route | None:
        """The route serving `path` on `host` (the Host header), or None."""
        for route in self.routes:
            if route.host and not _host_matches(route.host, host):
                continue
            if path.startswith(route.path) if route.prefix else path == route.path:
                return route
        return None
