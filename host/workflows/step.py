"""WorkflowStep: step.do, step.sleep, step.sleep_until and step.wait_for_event, with replay.

A step is identified by (name, count): count is how many times the name has been used so far in
this run. A key found in the journal returns its recorded outcome without running; a new key runs
and is journalled. The step talks to a StepHost: the activation that runs the instance for real,
or the replayer, which runs nothing. Waits longer than hibernate_after raise Suspend (a
BaseException), which unwinds run() past any `except Exception` and drops it from memory.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from host.errors import EngineSignal, NondeterminismError, NonRetryableError, WaitTimeoutError
from host.workflows.durations import MAX_WAIT_SECONDS, parse_wait
from host.workflows.entries import DO_ATTEMPTS, AttemptKinds, StepKey, StepRecord
from host.workflows.ids import check_event_type, check_step_name, encode_json
from host.workflows.jsonenc import check_keys, untag
from host.workflows.modifiers import Modifiers
from host.workflows.retry import StepConfig, resolve_config
from host.workflows.rollback import Rollbacks, Saga, Undo
from host.workflows.stepcall import DecoratedStep, StepContext, call, describe_error, rebuild_error
from host.workflows.stephost import StepHost

__all__ = ["StepHost", "WorkflowStep"]


_JSON_SCALARS = frozenset({type(None), bool, int, float, str})


class WorkflowStep(Rollbacks):
    """The `step` argument of run(); step.with_rollback and step.rollback_all are in Rollbacks."""

    def __init__(self, host: StepHost, modifiers: Modifiers | None = None) -> None:
        self._host = host
        self._mods = modifiers  # a test's modifications (host.testing); None when served
        self._counts: dict[str, int] = {}
        self.saga = Saga()  # undos registered by with_rollback steps (host.workflows.rollback)
        self.asked = 0  # steps asked for so far: the order they started in (undos run newest first)
        self.decorated: dict[str, DecoratedStep] = {}  # by function name, for implicit dependencies

    def _key(self, name: str, kind: str) -> tuple[StepKey, StepRecord | None]:
        check_step_name(name)
        count = self._counts.get(name, 0) + 1
        self._counts[name] = count
        self.asked += 1
        key = (name, count)
        record = self._host.state.steps.get(key)
        self._host.asked(kind, name, count, record)
        if record is not None and record.kind != kind:
            raise NondeterminismError(
                f"step {name!r} #{count} was a {record.kind} step when this instance last ran and is a "
                f"{kind} step now; step names and order must not change between runs"
            )
        return key, record

    # -- step.do ---------------------------------------------------------------------------------

    def do(
        self,
        name: str | Callable[..., Any] | None = None,
        config_or_callback: Any = None,
        callback: Callable[..., Any] | None = None,
        *,
        depends: Sequence[Any] = (),
        concurrent: bool = False,
        config: dict[str, Any] | None = None,
    ) -> Any:
        """Run a step: `await step.do(name, [config,] callback)`, or decorate with `@step.do(name, ...)`.

        Parameters:
            name: the step's name (defaults to the decorated function's name).
            config: {"retries": {"limit", "delay", "backoff"}, "timeout"}; Cloudflare's defaults apply.
            depends: decorated steps whose results are passed to this one.
            concurrent: run not-yet-done dependencies at the same time.
        """
        if callable(name) and not isinstance(name, str):  # bare @step.do
            return DecoratedStep(
                self, name.__name__, name, resolve_config(config), tuple(depends), concurrent
            )
        if callback is None and callable(config_or_callback):
            callback, config_or_callback = config_or_callback, None
        step_config = resolve_config(config_or_callback if config_or_callback is not None else config)
        if callback is None:

            def decorate(fn: Callable[..., Any]) -> DecoratedStep:
                return DecoratedStep(self, name or fn.__name__, fn, step_config, tuple(depends), concurrent)

            return decorate
        if not isinstance(name, str):
            raise ValueError("step.do(name, callback): name must be a string")
        return self.run_step(name, step_config, callback, (), {})

    async def run_step(
        self,
        name: str,
        cfg: StepConfig,
        callback: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        undo: Undo | None = None,
    ) -> Any:
        key, record = self._key(name, "do")
        started = self.asked
        if record is not None and record.done:
            if record.error is not None:
                raise rebuild_error(record.error)
            value = untag(record.result)
        else:
            if record is None:
                self._host.begin_step()
            self._host.checkpoint()
            value = await self.attempts(DO_ATTEMPTS, key, cfg, callback, args, kwargs, record)
        if undo is not None:  # registered when the step completes, also on replay (SPEC 3.9)
            self.saga.add(started, key, undo, value)
        return value

    async def attempts(
        self,
        kinds: AttemptKinds,
        key: StepKey,
        cfg: StepConfig,
        callback: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        record: StepRecord | None,
    ) -> Any:
        """Attempt a durable step (a step.do, or an undo) until it succeeds (its result, recorded)
        or fails for good (its error, recorded and raised); goes on from what `record` says."""
        host, name = self._host, key[0]
        attempt = (record.failures if record else 0) + 1
        if record is not None and record.retry_at is not None:
            await host.wait_until(record.retry_at, "retry")
        while True:
            start = {"type": kinds.start, "name": name, "count": key[1], "attempt": attempt}
            host.write(start, {"config": cfg.journal_json})
            error, final, value = await self._attempt(kinds, key, cfg, callback, args, kwargs, attempt)
            if error is None:
                return value
            if final or attempt > cfg.limit:
                await host.record({"type": kinds.error, "name": name, "count": key[1], "error": error})
                host.checkpoint()
                raise rebuild_error(error)
            retry_at = time.time() + cfg.retry_delay(attempt)
            if self._mods is not None:
                retry_at = self._mods.retry_at(retry_at)
            await host.record(
                {
                    "type": kinds.fail,
                    "name": name,
                    "count": key[1],
                    "attempt": attempt,
                    "error": error,
                    "retry_at": retry_at,
                }
            )
            host.checkpoint()
            await host.wait_until(retry_at, "retry", new=True)
            attempt += 1

    async def _attempt(
        self,
        kinds: AttemptKinds,
        key: StepKey,
        cfg: StepConfig,
        callback: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        attempt: int,
    ) -> tuple[dict[str, str] | None, bool, Any]:
        """Run one attempt: (None, _, result) once its result is recorded, else (error, is_final, _)."""
        host = self._host

        def context() -> StepContext:  # made only for a callback that takes one
            return StepContext(key[0], key[1], attempt, cfg.as_json())

        if self._mods is not None and kinds is DO_ATTEMPTS:  # an undo is not a mocked step
            callback = self._mods.stand_in(key[0], key[1], attempt, cfg.timeout, callback)
        host.steps_in_flight += 1
        try:
            limit = asyncio.timeout(cfg.timeout)
            try:
                async with limit:
                    result = await call(callback, context, args, kwargs)
            except TimeoutError:
                if not limit.expired():
                    raise  # the callback's own TimeoutError: an ordinary failure
                return (
                    {
                        "name": "TimeoutError",
                        "message": f"{kinds.what} {key[0]!r} attempt {attempt} timed out "
                        f"after {cfg.timeout:g} s",
                    },
                    False,
                    None,
                )
            what = f"result of {kinds.what} {key[0]!r}"
            try:
                text = encode_json(result, what, dates=True)
                # the result as JSON gives it back (a tuple becomes a list); a plain scalar already is
                value = result if type(result) in _JSON_SCALARS else json.loads(text)
                back = untag(value)
                if back is not result:  # a container: a key 1 would come back "1", refused
                    check_keys(result, back, what)
            except ValueError as exc:
                return {"name": "NonRetryableError", "message": str(exc)}, True, None
        except EngineSignal:
            raise
        except NonRetryableError as exc:
            return describe_error(exc), True, None
        except Exception as exc:
            return describe_error(exc), False, None
        finally:
            host.steps_in_flight -= 1
        result = back
        await host.record(
            {"type": kinds.done, "name": key[0], "count": key[1], "result": value}, {"result": text}
        )
        host.checkpoint()
        return None, False, result

    # -- sleeping ----------------------------------------------------------------------------------

    async def sleep(self, name: str, duration: Any) -> None:
        """Sleep for `duration` (a bare number is seconds here; Cloudflare's JS reads milliseconds)."""
        seconds = parse_wait(duration, what=f"step.sleep {name!r} duration")
        await self._sleep(name, lambda now: now + seconds)

    async def sleep_until(self, name: str, when: dt.datetime | float | int) -> None:
        """Sleep until a datetime (naive means local time) or epoch seconds."""
        if isinstance(when, dt.datetime):
            target = when.timestamp()
        elif isinstance(when, int | float) and not isinstance(when, bool):
            target = float(when)
        else:
            raise ValueError(f"step.sleep_until {name!r}: expected a datetime or epoch seconds, got {when!r}")
        if target - time.time() > MAX_WAIT_SECONDS:
            raise ValueError(f"step.sleep_until {name!r}: {when!r} is more than the limit of 365 days away")
        await self._sleep(name, lambda now: target)

    async def _sleep(self, name: str, wake_at: Callable[[float], float]) -> None:
        key, record = self._key(name, "sleep")
        host = self._host
        if record is None:
            host.begin_step()
            host.checkpoint()
            until = wake_at(time.time())
            if self._mods is not None:
                until = self._mods.sleep_until(name, key[1], until)
            await host.record({"type": "sleep", "name": name, "count": key[1], "until": until})
        else:
            until = record.until or 0.0
        await host.wait_until(until, f"sleep {name!r}", new=record is None)

    # -- events ------------------------------------------------------------------------------------

    async def wait_for_event(self, name: str, event_type: str, timeout: Any = "24 hours") -> dict[str, Any]:
        """Wait for an event of `event_type`; WaitTimeoutError after `timeout` (catchable)."""
        check_event_type(event_type)
        seconds = parse_wait(timeout, what=f"step.wait_for_event {name!r} timeout")
        key, record = self._key(name, "wait")
        host = self._host
        timed_out = f"step.wait_for_event {name!r}: no {event_type!r} event before the timeout"
        if record is not None and record.done:
            if record.timed_out:
                raise WaitTimeoutError(timed_out)
            return dict(record.event or {})
        if record is None:
            host.begin_step()
            host.checkpoint()
            timeout_at = time.time() + seconds
            if self._mods is not None:
                timeout_at = self._mods.timeout_at(name, key[1], timeout_at)
            entry = {"type": "wait", "name": name, "count": key[1], "event_type": event_type}
            await host.record({**entry, "timeout_at": timeout_at})
        else:
            timeout_at = record.until or 0.0
        linger_until = time.time() + host.hibernate_after
        # below zero (hibernate_every_wait) a new wait unloads first, even if its timeout is due
        unload_first = record is None and host.hibernate_after < 0
        while True:
            taken = host.take_event(event_type)
            if taken is not None:
                inbox_name, event = taken
                await host.record(
                    {"type": "event", "name": name, "count": key[1], "event": event, "inbox": inbox_name}
                )
                host.event_taken(inbox_name)
                return dict(event)
            if time.time() >= timeout_at and not unload_first:
                await host.record({"type": "wait_timeout", "name": name, "count": key[1]})
                raise WaitTimeoutError(timed_out)
            await host.wait_for_inbox(timeout_at, linger_until, waiting_for=f"event {event_type!r}")
