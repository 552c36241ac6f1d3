"""Rollback (saga), in Cloudflare's Python shape (SPEC 3.9): step.with_rollback, @fn.undo and
step.rollback_all, and the undos the activation runs when run() raises or on terminate(rollback).

A with_rollback step is a step.do whose undo handler is registered when the step completes (also
when it is replayed). A rollback runs the registered undos newest first (by the order their steps
started). Each undo is a durable step of its own, journalled under the key of the step it undoes
(undo_start / undo_fail / undo_done / undo_error, with its own config's retries and timeout), so
it runs at most once for the instance; the first that fails for good stops the rollback. A
rollback that has undos to run is bracketed by rollback_start and rollback_end entries, and the
status is rollingBack in between; one cut short by a crash goes on at the next start, from the
first undo not recorded as done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from host.errors import Evicted, StoreUnavailable, Suspend
from host.workflows.entries import UNDO_ATTEMPTS, AttemptKinds, StepKey, StepRecord
from host.workflows.retry import StepConfig, resolve_config
from host.workflows.stepcall import DecoratedStep, describe_error, rebuild_error
from host.workflows.stephost import StepHost

CAUSES = ("call", "error", "terminate")  # step.rollback_all, run() raised, terminate(rollback=True)


@dataclass(frozen=True)
class Undo:
    """An undo handler, `handler(error, value)`, and the config its attempts run with."""

    handler: Callable[..., Any]
    config: StepConfig


@dataclass(frozen=True)
class Registered:
    started: int  # the step's place in the order steps were asked for
    key: StepKey
    undo: Undo
    value: Any  # the step's result, as run() got it


class Saga:
    """The undos registered in this run of run()."""

    def __init__(self) -> None:
        self.items: list[Registered] = []
        self.undoing = False  # an undo handler runs now (rollback_all is a RuntimeError then)

    def add(self, started: int, key: StepKey, undo: Undo, value: Any) -> None:
        if all(item.key != key for item in self.items):
            self.items.append(Registered(started, key, undo, value))

    def newest_first(self) -> list[Registered]:
        return sorted(self.items, key=lambda item: item.started, reverse=True)

    def pending(self, undos: dict[StepKey, StepRecord]) -> bool:
        """Whether a rollback now would do anything: an undo not recorded as done, or one that failed."""
        for item in self.items:
            record = undos.get(item.key)
            if record is None or not record.done or record.error is not None:
                return True
        return False


class RollbackStep(DecoratedStep):
    """What `@step.with_rollback(...)` returns: a decorated step with an undo handler, set with
    `@fn.undo` or `@fn.undo(config=...)` (or `undo=` given to with_rollback)."""

    def __init__(
        self,
        step: Any,
        name: str,
        fn: Callable[..., Any],
        config: StepConfig,
        depends: tuple[Any, ...],
        concurrent: bool,
        undo: Callable[..., Any] | None,
        undo_config: dict[str, Any] | None,
    ) -> None:
        super().__init__(step, name, fn, config, depends, concurrent)
        self._undo_handler: Callable[..., Any] | None = None
        self._undo_config = undo_config
        self._undo_cfg = resolve_config(undo_config)
        if undo is not None:
            self._set_undo(undo, undo_config)

    def undo(self, handler: Callable[..., Any] | None = None, *, config: dict[str, Any] | None = None) -> Any:
        """Register `handler(error, value)` as this step's undo: `@fn.undo` or `@fn.undo(config=...)`."""
        if handler is None:

            def decorate(fn: Callable[..., Any]) -> RollbackStep:
                self._set_undo(fn, config)
                return self

            return decorate
        self._set_undo(handler, config)
        return self

    def _set_undo(self, handler: Callable[..., Any], config: dict[str, Any] | None) -> None:
        if not callable(handler):
            raise TypeError(f"step {self.name!r}: an undo handler must be a function (error, value)")
        self._undo_handler, self._undo_config = handler, config
        self._undo_cfg = resolve_config(config)

    def undo_spec(self) -> Undo:
        if self._undo_handler is None:
            raise ValueError(
                f"step {self.name!r} was declared with step.with_rollback but has no undo handler: "
                f"decorate one with @{self.__name__}.undo (or pass undo= to with_rollback)"
            )
        return Undo(self._undo_handler, self._undo_cfg)


class Rollbacks:
    """step.with_rollback and step.rollback_all, mixed into host.workflows.step.WorkflowStep."""

    _host: StepHost
    saga: Saga

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
        raise NotImplementedError  # WorkflowStep's

    def with_rollback(
        self,
        name: str | Callable[..., Any] | None = None,
        *,
        config: dict[str, Any] | None = None,
        undo: Callable[..., Any] | None = None,
        undo_config: dict[str, Any] | None = None,
        depends: Sequence[Any] = (),
        concurrent: bool = False,
    ) -> Any:
        """Decorate a step like `@step.do(name, config=...)`, with an undo handler to register
        (`@fn.undo`) that a rollback runs: `undo(error, value)` gets the error that started the
        rollback (None if none) and the step's result."""
        if callable(name) and not isinstance(name, str):  # bare @step.with_rollback
            fn = name
            return RollbackStep(
                self, fn.__name__, fn, resolve_config(config), tuple(depends), concurrent, undo, undo_config
            )
        cfg = resolve_config(config)

        def decorate(fn: Callable[..., Any]) -> RollbackStep:
            step_name = name if isinstance(name, str) else fn.__name__
            return RollbackStep(self, step_name, fn, cfg, tuple(depends), concurrent, undo, undo_config)

        return decorate

    async def rollback_all(self, error: BaseException | None = None) -> None:
        """Run the undos of the completed with_rollback steps, newest first, each at most once for
        the instance; the first that fails for good stops the rest, and its error is raised here."""
        if self.saga.undoing:
            raise RuntimeError("step.rollback_all cannot be called inside an undo handler")
        await self.roll_back(error, "call")

    async def roll_back(self, error: BaseException | None, cause: str) -> None:
        """The rollback itself (see the module docstring); `cause` is one of CAUSES."""
        host, saga = self._host, self.saga
        state = host.state
        failure: dict[str, str] | None = None
        entered = False
        saga.undoing = True
        try:
            for item in saga.newest_first():
                record = state.undos.get(item.key)
                if record is not None and record.done:
                    if record.error is None:
                        continue  # undone before (this run, or one before a crash)
                    failure = record.error
                    break
                if state.rollback_open is None:
                    cause_error = describe_error(error) if error is not None else None
                    await host.record({"type": "rollback_start", "cause": cause, "error": cause_error})
                if not entered:
                    await host.rolling_back(True)
                    entered = True
                host.checkpoint()
                args = (error, item.value)
                try:
                    await self.attempts(
                        UNDO_ATTEMPTS, item.key, item.undo.config, item.undo.handler, args, {}, record
                    )
                except Exception:  # the undo failed for good: recorded
                    failure = state.undos[item.key].error
                    break
            if state.rollback_open is not None:
                end: dict[str, Any] = {"type": "rollback_end", "outcome": "failed" if failure else "complete"}
                if failure is not None:
                    end["error"] = failure
                await host.record(end)
            if cause == "call" and (entered or state.status.value == "rollingBack"):
                await host.rolling_back(False)
        finally:
            saga.undoing = False
        if failure is not None:
            raise rebuild_error(failure)


async def roll_back_after_run(
    step: Rollbacks, cause: str, error: BaseException | None
) -> tuple[str, Any] | None:
    """Run the undos once run() has ended (it raised, or a terminate asked for them): None when
    the rollback ended (complete or failed, as recorded), else the outcome that stopped it."""
    try:
        await step.roll_back(error, cause)
    except Suspend as signal:  # an undo waits for its retry
        return "suspend", signal.wake_at
    except Evicted:
        return "evicted", None
    except StoreUnavailable as exc:
        return "unavailable", exc.error
    except Exception:  # an undo failed for good: the rollback_end says so
        pass
    return None
