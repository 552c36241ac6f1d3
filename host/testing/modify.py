"""`dep.workflow(name)` and its `modify()`: what a test changes about how one workflow runs.

    async with dep.workflow("order-workflow").modify() as m:
        await m.disable_sleeps()
        await m.mock_step_result({"name": "charge card"}, {"charge_id": "ch_1"})

Each call takes effect at once, for every instance of the workflow that runs from then on (those
created later and those already running, at their next step), and lasts for the deployment.
The changes are kept in the workflow's host.workflows.modifiers.Modifiers, which the engine
consults; everything still runs through the real engine and journal.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from host.errors import StepError
from host.testing.selectors import Step, pick
from host.workflows.ids import check_event_type, check_json, encode_json
from host.workflows.modifiers import Modifiers
from host.workflows.modifiers import StepError as MockedError


class Modifier:
    """What `modify()` yields; every method is a coroutine, as in Cloudflare's test pool."""

    def __init__(self, workflow: str, modifiers: Modifiers, events: list[tuple[str, Any]]) -> None:
        self.workflow = workflow
        self._mods, self._events = modifiers, events

    async def disable_sleeps(self, steps: Iterable[Step] | None = None) -> None:
        """Sleeps end at once (each is still recorded, waking now), and so do retry delays; with
        `steps`, only those sleeps (and no retry delay)."""
        if steps is None:
            self._mods.sleeps_disabled = True
        else:
            self._mods.sleeps_disabled_for.update(pick(s) for s in steps)

    async def disable_retry_delays(self) -> None:
        """A failed attempt is tried again at once instead of after its retry delay."""
        self._mods.retry_delays_disabled = True

    async def mock_step_result(self, step: Step, value: Any) -> None:
        """The step does not run: its attempt records `value` as its result (JSON, as any result)."""
        name, index = pick(step)
        encode_json(value, f"mocked result of step {name!r}", dates=True)  # ValueError as for a result
        self._mods.results[(name, index)] = value

    async def mock_step_error(self, step: Step, error: BaseException | str, times: int | None = None) -> None:
        """The step's first `times` attempts (every attempt if None) fail with `error` (an
        exception, or a message for a plain Exception) instead of running; the step's retries
        apply as to any failure. A NonRetryableError fails the step at once."""
        name, index = pick(step)
        if isinstance(error, str):
            error = StepError(error, "Error")
        if not isinstance(error, Exception):
            raise ValueError(f"mock_step_error: error must be an exception or a message, got {error!r}")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
            raise ValueError(f"mock_step_error: times must be a positive integer or None, got {times!r}")
        self._mods.errors[(name, index)] = MockedError(error, times)

    async def mock_event(self, type: str, payload: Any = None) -> None:  # noqa: A002
        """Send this event to every instance created from now on, as send_event does at its
        creation: the first wait_for_event for `type` takes it (several mocked events of a type are
        taken in the order mocked, one per wait)."""
        check_event_type(type)
        check_json(payload, f"payload of mocked event {type!r}")
        self._events.append((type, payload))

    async def force_step_timeout(self, step: Step) -> None:
        """Every attempt of the step times out at once, as one that ran past its timeout (the
        step's retries apply; after the last, run() sees a TimeoutError)."""
        self._mods.step_timeouts.add(pick(step))

    async def force_event_timeout(self, step: Step) -> None:
        """The wait_for_event times out at once (run() sees a WaitTimeoutError), unless an event
        for it is already waiting in the inbox."""
        self._mods.event_timeouts.add(pick(step))

    async def hibernate_every_wait(self) -> None:
        """Unload the instance at every wait (sleep, retry delay, event wait not answered at once,
        also those the other modifiers end at once) and replay run() from the start when it goes
        on: proves the workflow survives hibernation."""
        self._mods.hibernate_every_wait = True


class WorkflowTester:
    """`dep.workflow(name)`: one workflow of a test deployment."""

    def __init__(self, name: str, modifiers: Modifiers, events: list[tuple[str, Any]]) -> None:
        self.name = name
        self.modifiers = modifiers
        self._events = events

    @asynccontextmanager
    async def modify(self) -> AsyncIterator[Modifier]:
        """`async with dep.workflow(name).modify() as m:` (see Modifier); the changes stay after
        the block, for the rest of the deployment."""
        yield Modifier(self.name, self.modifiers, self._events)
