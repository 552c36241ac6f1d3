"""Step configuration: Cloudflare's defaults merged with what a step asks for, and backoff delays."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from host.workflows.durations import MAX_WAIT_SECONDS, parse_wait
from host.workflows.jsonenc import compact

BACKOFFS = ("constant", "linear", "exponential")
MAX_RETRY_LIMIT = 10_000
MAX_RETRY_DELAY = MAX_WAIT_SECONDS  # a backoff stops growing at 365 days (README limits)


@dataclass(frozen=True)
class StepConfig:
    """A step's resolved config; delays and timeouts in seconds."""

    limit: int = 5
    delay: float = 10.0
    backoff: str = "exponential"
    timeout: float = 600.0
    sensitive: str | None = None  # "output": the result is shown as "[REDACTED]" outside the journal

    def retry_delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based), at most MAX_RETRY_DELAY."""
        if self.backoff == "constant":
            return self.delay
        if self.backoff == "linear":
            return min(self.delay * retry, MAX_RETRY_DELAY)
        # 2.0 ** 1024 raises OverflowError; past 1023 a float product only grows to inf, then capped
        return min(self.delay * 2.0 ** min(retry - 1, 1023), MAX_RETRY_DELAY)

    def as_json(self) -> dict[str, Any]:
        """The config in Cloudflare's shape, delays in milliseconds (a new dict each call)."""
        shaped: dict[str, Any] = {
            "retries": {"limit": self.limit, "delay": int(self.delay * 1000), "backoff": self.backoff},
            "timeout": int(self.timeout * 1000),
        }
        if self.sensitive is not None:
            shaped["sensitive"] = self.sensitive
        return shaped

    @cached_property
    def journal_json(self) -> str:
        """as_json() encoded once, for the step_start line every attempt writes."""
        return compact(self.as_json())


DEFAULT = StepConfig()  # most steps take the defaults: one object, one journal_json


def resolve_config(config: object) -> StepConfig:
    """Merge a WorkflowStepConfig dict over the defaults; raise ValueError naming a bad key."""
    if config is None:
        return DEFAULT
    if isinstance(config, StepConfig):
        return config
    if not isinstance(config, dict):
        raise ValueError(
            f"step config must be a dict like {{'retries': {{...}}, 'timeout': ...}}, got {config!r}"
        )
    unknown = set(config) - {"retries", "timeout", "sensitive"}
    if unknown:
        raise ValueError(
            f"step config: unknown key {sorted(unknown)[0]!r} (allowed: retries, timeout, sensitive)"
        )
    sensitive = config.get("sensitive")
    if sensitive not in (None, "output"):
        raise ValueError(f"step config: sensitive must be 'output', got {sensitive!r}")
    base = StepConfig()
    limit, delay, backoff, timeout = base.limit, base.delay, base.backoff, base.timeout
    retries = config.get("retries")
    if retries is not None:
        if not isinstance(retries, dict):
            raise ValueError(f"step config: retries must be a dict, got {retries!r}")
        unknown = set(retries) - {"limit", "delay", "backoff"}
        if unknown:
            raise ValueError(
                f"step config: unknown key retries.{sorted(unknown)[0]} (allowed: limit, delay, backoff)"
            )
        if "limit" in retries:
            limit = retries["limit"]
            if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_RETRY_LIMIT:
                raise ValueError(
                    f"step config: retries.limit must be an integer from 0 to {MAX_RETRY_LIMIT}, "
                    f"got {limit!r}"
                )
        if "delay" in retries:
            delay = parse_wait(retries["delay"], what="retries.delay", number_unit=0.001)  # 0: at once
        if "backoff" in retries:
            backoff = retries["backoff"]
            if backoff not in BACKOFFS:
                raise ValueError(
                    f"step config: retries.backoff must be one of {', '.join(BACKOFFS)}, got {backoff!r}"
                )
    if "timeout" in config:
        timeout = parse_wait(config["timeout"], what="timeout", number_unit=0.001)
        if timeout <= 0:
            raise ValueError(f"step config: timeout must be more than zero, got {config['timeout']!r}")
    return StepConfig(limit=limit, delay=delay, backoff=backoff, timeout=timeout, sensitive=sensitive)
