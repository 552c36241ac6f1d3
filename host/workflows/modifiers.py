"""Modifiers: what a test asked the engine to do differently for one workflow (host.testing).

A WorkflowDef may carry one `Modifiers` object; the step API and the activation consult it at the
few places it changes (an attempt's callback, a retry delay, a sleep's wake time, an event wait's
timeout, hibernate_after). Without one (every served host) nothing here runs. Everything a
modifier changes is still journalled as usual: a mocked result is a real step_done line, a
disabled sleep a real sleep line that ends now.

Steps are picked by name and, optionally, by index: the n-th use of that name in a run (from 1,
the journal's `count`); without an index every use of the name matches.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

StepSelector = tuple[str, int | None]  # (name, index or None for every use)

# The hibernate_after of hibernate_every_wait: below zero, so that every new wait unloads the
# instance, even one a modifier ended at once (host.workflows.liverun.LiveRun.wait_until).
EVERY_WAIT = -1.0


def _matches(selectors: set[StepSelector], name: str, count: int) -> bool:
    return (name, count) in selectors or (name, None) in selectors


@dataclass
class StepError:
    """A mocked failure: the first `times` attempts raise `error` (every attempt if None)."""

    error: BaseException
    times: int | None


@dataclass
class Modifiers:
    """One workflow's test modifications; mutated by host.testing, read by the engine."""

    sleeps_disabled: bool = False  # every sleep and retry delay ends at once
    sleeps_disabled_for: set[StepSelector] = field(default_factory=set)  # only these sleeps
    retry_delays_disabled: bool = False
    results: dict[StepSelector, Any] = field(default_factory=dict)
    errors: dict[StepSelector, StepError] = field(default_factory=dict)
    step_timeouts: set[StepSelector] = field(default_factory=set)
    event_timeouts: set[StepSelector] = field(default_factory=set)
    hibernate_every_wait: bool = False
    hibernate_after: float | None = None  # this workflow's hibernate_after; None: the engine's

    # -- consulted by the engine ---------------------------------------------------------------------

    def hibernate(self, engine_value: float) -> float:
        """The hibernate_after of this workflow's activations."""
        if self.hibernate_every_wait:
            return EVERY_WAIT
        return engine_value if self.hibernate_after is None else self.hibernate_after

    def sleep_until(self, name: str, count: int, until: float) -> float:
        """The wake time to record for a new sleep (now, for a disabled one)."""
        if self.sleeps_disabled or _matches(self.sleeps_disabled_for, name, count):
            return min(until, time.time())
        return until

    def retry_at(self, retry_at: float) -> float:
        """When a failed attempt is tried again (now, with retry delays or sleeps disabled)."""
        if self.retry_delays_disabled or self.sleeps_disabled:
            return min(retry_at, time.time())
        return retry_at

    def timeout_at(self, name: str, count: int, timeout_at: float) -> float:
        """When a new event wait times out (now, for a forced timeout)."""
        if _matches(self.event_timeouts, name, count):
            return time.time()
        return timeout_at

    def stand_in(
        self, name: str, count: int, attempt: int, timeout: float, callback: Callable[..., Any]
    ) -> Callable[..., Any]:
        """The callback an attempt runs: a mocked error, result or timeout, or the step's own."""
        key = (name, count) if (name, count) in self.errors else (name, None)
        mocked = self.errors.get(key)
        if mocked is not None and (mocked.times is None or attempt <= mocked.times):
            error = mocked.error

            async def fail(*args: Any, **kwargs: Any) -> Any:
                raise error

            return fail
        key = (name, count) if (name, count) in self.results else (name, None)
        if key in self.results:
            value = self.results[key]

            async def result(*args: Any, **kwargs: Any) -> Any:
                return value

            return result
        if _matches(self.step_timeouts, name, count):
            message = f"step {name!r} attempt {attempt} timed out after {timeout:g} s"

            async def time_out(*args: Any, **kwargs: Any) -> Any:
                raise TimeoutError(message)  # recorded as the engine records a timed-out attempt

            return time_out
        return callback
