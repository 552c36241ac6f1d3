"""WorkflowStep: step.do, step.sleep, step.sleep_until and step.wait_for_event, with replay.

A step is identified by (name, count): count is how many times the name has been used so far in
this run. A key found in the journal returns its recorded outcome without running; a new key runs
and is journalled. Waits longer than hibernate_after raise Suspend (a BaseException), which
unwinds run() past any `except Exception` and drops the instance from memory.
"""

from __future__ import annotations

import asyncio
import builtins
import datetime as dt
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from host.errors import EngineSignal, NondeterminismError, NonRetryableError, StepError, WaitTimeoutError
from host.workflows import timeouts
from host.workflows.durations import MAX_WAIT_SECONDS, parse_wait
from host.workflows.ids import check_event_type, check_step_name, encode_json
from host.workflows.journal import StepKey, StepRecord
from host.workflows.retry import StepConfig, resolve_config

if TYPE_CHECKING:
    from host.workflows.runner import Activation


@dataclass(frozen=True)
class StepContext:
    """What a step callback may ask for by taking a `ctx` parameter."""

    step: SimpleNamespace
    attempt: int
    config: dict[str, Any]


def rebuild_error(error: dict[str, str]) -> Exception:
    """The exception run() sees for a step's final error: the built-in type where there is one."""
    name, message = error.get("name", "Error"), error.get("message", "")
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls is not Exception:
        try:
            return cls(message)
        except Exception:  # a built-in that wants other arguments
            pass
    return StepError(message, name)


def describe_error(exc: BaseException) -> dict[str, str]:
    if isinstance(exc, NonRetryableError | StepError):
        return {"name": exc.name, "message": exc.message}
    return {"name": type(exc).__name__, "message": str(exc)}


class WorkflowStep:
    """The `step` argument of run()."""

    def __init__(self, activation: Activation) -> None:
        self._act = activation
        self._counts: dict[str, int] = {}

    def _key(self, name: str, kind: str) -> tuple[StepKey, StepRecord | None]:
        check_step_name(name)
        count = self._counts.get(name, 0) + 1
        self._counts[name] = count
        key = (name, count)
        record = self._act.state.steps.get(key)
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
        return self._run(name, step_config, callback, (), {})  # _key checks the name

    async def _run(
        self,
        name: str,
        cfg: StepConfig,
        callback: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        key, record = self._key(name, "do")
        act = self._act
        if record is not None and record.done:
            if record.error is not None:
                raise rebuild_error(record.error)
            return record.result
        if record is None:
            act.begin_step()
        act.checkpoint()
        attempt = (record.failures if record else 0) + 1
        config_json = cfg.journal_json
        if record is not None and record.retry_at is not None:
            await act.wait_until(record.retry_at, "retry")
        while True:
            act.hold(
                {
                    "type": "step_start",
                    "name": name,
                    "count": key[1],
                    "attempt": attempt,
                    "config": config_json,
                }
            )
            error, final = await self._attempt(key, cfg, callback, args, kwargs, attempt)
            if error is None:
                return act.state.steps[key].result
            now = time.time()
            if final or attempt > cfg.limit:
                await act.record({"type": "step_error", "name": name, "count": key[1], "error": error})
                act.checkpoint()
                raise rebuild_error(error)
            retry_at = now + cfg.retry_delay(attempt)
            await act.record(
                {
                    "type": "step_fail",
                    "name": name,
                    "count": key[1],
                    "attempt": attempt,
                    "error": error,
                    "retry_at": retry_at,
                }
            )
            act.checkpoint()
            await act.wait_until(retry_at, "retry")
            attempt += 1

    async def _attempt(
        self,
        key: StepKey,
        cfg: StepConfig,
        callback: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        attempt: int,
    ) -> tuple[dict[str, str] | None, bool]:
        """Run one attempt; return (None, _) on success (result recorded) or (error, is_final)."""
        act = self._act
        act.steps_in_flight += 1
        try:
            try:
                # asyncio's own timeout (a third of an anyio cancel scope's cost), armed only if
                # the callback waits for something
                call = _call(callback, (key, attempt, cfg), args, kwargs)
                result = await timeouts.within(call, cfg.timeout)
            except TimeoutError as exc:
                if not _timed_out(exc):
                    raise  # the callback's own TimeoutError: an ordinary failure
                return {
                    "name": "TimeoutError",
                    "message": f"step {key[0]!r} attempt {attempt} timed out after {cfg.timeout:g} s",
                }, False
            try:
                text = encode_json(result, f"result of step {key[0]!r}")
            except ValueError as exc:
                return {"name": "NonRetryableError", "message": str(exc)}, True
        except EngineSignal:
            raise
        except NonRetryableError as exc:
            return describe_error(exc), True
        except Exception as exc:
            return describe_error(exc), False
        finally:
            act.steps_in_flight -= 1
        # the result as JSON gives it back (a tuple becomes a list); a plain scalar already is
        value = result if type(result) in _JSON_SCALARS else json.loads(text)
        entry = {"type": "step_done", "name": key[0], "count": key[1], "result": value}
        await act.record(entry, raw={"result": text})
        act.checkpoint()
        return None, False

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
        act = self._act
        if record is None:
            act.begin_step()
            act.checkpoint()
            until = wake_at(time.time())
            await act.record({"type": "sleep", "name": name, "count": key[1], "until": until})
        else:
            until = record.until or 0.0
        await act.wait_until(until, f"sleep {name!r}")

    # -- events ------------------------------------------------------------------------------------

    async def wait_for_event(self, name: str, event_type: str, timeout: Any = "24 hours") -> dict[str, Any]:
        """Wait for an event of `event_type`; WaitTimeoutError after `timeout` (catchable)."""
        check_event_type(event_type)
        seconds = parse_wait(timeout, what=f"step.wait_for_event {name!r} timeout")
        key, record = self._key(name, "wait")
        act = self._act
        if record is not None and record.done:
            if record.timed_out:
                raise WaitTimeoutError(
                    f"step.wait_for_event {name!r}: no {event_type!r} event before the timeout"
                )
            return dict(record.event or {})
        if record is None:
            act.begin_step()
            act.checkpoint()
            timeout_at = time.time() + seconds
            await act.record(
                {
                    "type": "wait",
                    "name": name,
                    "count": key[1],
                    "event_type": event_type,
                    "timeout_at": timeout_at,
                }
            )
        else:
            timeout_at = record.until or 0.0
        linger_until = time.time() + act.hibernate_after
        while True:
            taken = act.take_event(event_type)
            if taken is not None:
                inbox_name, event = taken
                await act.record(
                    {"type": "event", "name": name, "count": key[1], "event": event, "inbox": inbox_name}
                )
                act.inbox_done(inbox_name)
                return dict(event)
            if time.time() >= timeout_at:
                await act.record({"type": "wait_timeout", "name": name, "count": key[1]})
                raise WaitTimeoutError(
                    f"step.wait_for_event {name!r}: no {event_type!r} event before the timeout"
                )
            await act.wait_for_inbox(timeout_at, linger_until, waiting_for=f"event {event_type!r}")


_JSON_SCALARS = frozenset({type(None), bool, int, float, str})


def _timed_out(exc: TimeoutError) -> bool:
    """True if the TimeoutError came from our asyncio.timeout (it chains the CancelledError)."""
    return isinstance(exc.__cause__, asyncio.CancelledError)


async def _call(
    callback: Callable[..., Any],
    attempt: tuple[StepKey, int, StepConfig],
    args: tuple[Any, ...],
    named: dict[str, Any],
) -> Any:
    """Call a step callback, sync (in a worker thread) or async, passing a StepContext for
    `attempt` (key, number, config) if it asks for one (made only then)."""
    kwargs = dict(named)
    positional = list(args)
    ctx_as, is_async = _shape(callback)
    if ctx_as:
        (name, count), number, cfg = attempt
        ctx = StepContext(SimpleNamespace(name=name, count=count), number, cfg.as_json())
        if ctx_as == "keyword":
            kwargs["ctx"] = ctx
        elif not positional and not kwargs:
            positional = [ctx]
    if is_async:
        return await callback(*positional, **kwargs)
    result = await anyio.to_thread.run_sync(lambda: callback(*positional, **kwargs), abandon_on_cancel=True)
    if inspect.isawaitable(result):
        result = await result
    return result


_SHAPES: dict[object, tuple[str, bool]] = {}


def _shape(callback: Callable[..., Any]) -> tuple[str, bool]:
    """How a callback takes ctx ("keyword", "positional" or "") and whether it is async.

    Cached by code object: replays create new closures of the same function every run.
    """
    code = getattr(callback, "__code__", None)
    key = (code, getattr(callback, "__self__", None) is not None) if code is not None else None
    if key is not None and key in _SHAPES:
        return _SHAPES[key]
    try:
        params = inspect.signature(callback).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    ctx_as = ""
    if "ctx" in params:
        ctx_as = "keyword"
    elif len(params) == 1:
        only = next(iter(params.values()))
        if only.default is inspect.Parameter.empty and only.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            ctx_as = "positional"
    is_async = inspect.iscoroutinefunction(callback) or inspect.iscoroutinefunction(type(callback).__call__)
    if key is not None:
        if len(_SHAPES) > 10_000:  # code objects of reloaded modules: keep the cache bounded
            _SHAPES.clear()
        _SHAPES[key] = (ctx_as, is_async)
    return ctx_as, is_async


class DecoratedStep:
    """What `@step.do(...)` returns: awaiting a call runs the step once; later calls share the result."""

    def __init__(
        self,
        step: WorkflowStep,
        name: str,
        fn: Callable[..., Any],
        config: StepConfig,
        depends: tuple[Any, ...],
        concurrent: bool,
    ) -> None:
        check_step_name(name)
        for dep in depends:
            if not isinstance(dep, DecoratedStep):
                raise ValueError(f"step {name!r}: depends must list functions decorated with @step.do")
        self._step, self.name, self._fn = step, name, fn
        self.__name__ = fn.__name__
        self._config, self._depends, self._concurrent = config, depends, concurrent
        self._done: anyio.Event | None = None
        self._outcome: tuple[bool, Any] = (False, None)

    def __call__(self) -> Awaitable[Any]:
        return self._result()

    async def _result(self) -> Any:
        if self._done is None:
            self._done = anyio.Event()
            try:
                self._outcome = (True, await self._execute())
            except BaseException as exc:  # later callers share it, engine signals included
                self._outcome = (False, exc)
            finally:
                self._done.set()
        else:
            await self._done.wait()
        ok, value = self._outcome
        if not ok:
            raise value
        return value

    async def _execute(self) -> Any:
        results: list[Any] = [None] * len(self._depends)
        if self._concurrent and len(self._depends) > 1:
            errors: list[BaseException] = []

            async def run_one(index: int, dep: DecoratedStep) -> None:
                try:
                    results[index] = await dep()
                except BaseException as exc:  # collected below so run() sees a plain exception
                    errors.append(exc)

            async with anyio.create_task_group() as group:
                for index, dep in enumerate(self._depends):
                    group.start_soon(run_one, index, dep)
            signals = [e for e in errors if isinstance(e, BaseException) and not isinstance(e, Exception)]
            if signals:
                raise signals[0]
            if errors:
                raise errors[0]
        else:
            for index, dep in enumerate(self._depends):
                results[index] = await dep()
        args, kwargs = tuple(results), {}
        if self._depends:
            params = inspect.signature(self._fn).parameters
            names = [dep.__name__ for dep in self._depends]
            if all(n in params for n in names):  # bind dependency results by parameter name
                args, kwargs = (), dict(zip(names, results, strict=True))
        return await self._step._run(self.name, self._config, self._fn, args, kwargs)
