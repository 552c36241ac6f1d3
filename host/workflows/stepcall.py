"""Calling a step's callback: what it may take (ctx, dependency results), sync or async, and the
decorated form `@step.do(...)` whose call runs the step once, with its dependencies first."""

from __future__ import annotations

import ast
import builtins
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio
import anyio.to_thread

from host.errors import NonRetryableError, StepError
from host.workflows.ids import check_step_name
from host.workflows.retry import StepConfig


class Runs(Protocol):
    """What a decorated step needs of the step API (host.workflows.step.WorkflowStep)."""

    decorated: dict[str, DecoratedStep]

    async def run_step(
        self,
        name: str,
        cfg: StepConfig,
        callback: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        undo: Any = None,
    ) -> Any: ...


class Keys(dict[str, Any]):
    """A dict whose keys read as attributes too (`ctx.step.name` and `ctx["step"]["name"]`)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class StepContext(Keys):
    """What a step callback gets by taking a `ctx` parameter: `step` (name, count), `attempt`
    (from 1) and `config` (the resolved config), as attributes and as keys."""

    def __init__(self, name: str, count: int, attempt: int, config: dict[str, Any]) -> None:
        super().__init__(step=Keys(name=name, count=count), attempt=attempt, config=config)


def rebuild_error(error: dict[str, str]) -> Exception:
    """The exception run() sees for a step's final error: the built-in type where there is one,
    whose str() is the recorded message (SPEC 3.2)."""
    name, message = error.get("name", "Error"), error.get("message", "")
    if name == "KeyError":
        return _key_error(message)
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls is not Exception:
        try:
            exc = cls(message)
        except Exception:  # a built-in that wants other arguments
            return StepError(message, name)
        if str(exc) == message:
            return exc
    return StepError(message, name)


class _KeyErrorText(KeyError):
    """A KeyError rebuilt from a message that is no key's repr: its str() is that message."""

    def __str__(self) -> str:
        return str(self.args[0])


def _key_error(message: str) -> KeyError:
    """A KeyError's str() is its key's repr ("'k'"), so KeyError(message) would quote it twice:
    the key is read back from the message where it is a literal, as it nearly always is."""
    if not message:
        return KeyError()
    if len(message) <= 1000:
        try:
            exc = KeyError(ast.literal_eval(message))
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            pass
        else:
            if str(exc) == message:
                return exc
    return _KeyErrorText(message)


def describe_error(exc: BaseException) -> dict[str, str]:
    if isinstance(exc, NonRetryableError | StepError):
        return {"name": exc.name, "message": exc.message}
    return {"name": type(exc).__name__, "message": str(exc)}


async def call(
    callback: Callable[..., Any],
    context: Callable[[], StepContext],
    args: tuple[Any, ...],
    named: dict[str, Any],
) -> Any:
    """Call a step callback, async on the loop or sync in a worker thread, with `context()` as its
    `ctx` if it asks for one (a parameter named ctx, or its only parameter)."""
    kwargs = dict(named)
    positional = list(args)
    takes = _takes_context(callback)
    if takes == "keyword":
        kwargs["ctx"] = context()
    elif takes == "only" and not positional and not kwargs:
        positional = [context()]
    if inspect.iscoroutinefunction(callback) or inspect.iscoroutinefunction(type(callback).__call__):
        return await callback(*positional, **kwargs)
    result = await anyio.to_thread.run_sync(lambda: callback(*positional, **kwargs), abandon_on_cancel=True)
    if inspect.isawaitable(result):
        result = await result
    return result


def _implicit(name: str, fn: Callable[..., Any], decorated: dict[str, DecoratedStep]) -> tuple[Any, ...]:
    """Dependencies named by parameters, as in Cloudflare's Python DAG form (`async def
    final(dep_1, dep_2)`): each parameter but `ctx` must name a step function decorated before it
    in this run; TypeError naming the parameter otherwise."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return ()
    found = []
    for param in params:
        if param == "ctx":
            continue
        dep = decorated.get(param)
        if dep is None:
            raise TypeError(
                f"step {name!r}: parameter {param!r} names no step function decorated before it in "
                "this run (a parameter is a dependency's result, or ctx)"
            )
        found.append(dep)
    return tuple(found)


def _takes_context(callback: Callable[..., Any]) -> str:
    """ "keyword" if the callback has a parameter named ctx, "only" if its one parameter (without a
    default) may be the context, else "". Read from the code object of a plain function, which
    costs a tenth of inspect.signature (see the commit message for the A/B)."""
    code = getattr(callback, "__code__", None)
    if code is not None and not hasattr(callback, "__self__") and not hasattr(callback, "__wrapped__"):
        names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        if "ctx" in names:
            return "keyword"
        defaults = getattr(callback, "__defaults__", None) or ()
        return "only" if code.co_argcount == 1 and not defaults and not code.co_kwonlyargcount else ""
    try:
        params = inspect.signature(callback).parameters
    except (TypeError, ValueError):
        return ""
    if "ctx" in params:
        return "keyword"
    if len(params) == 1:
        only = next(iter(params.values()))
        if only.default is inspect.Parameter.empty and only.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            return "only"
    return ""


class DecoratedStep:
    """What `@step.do(...)` returns: awaiting a call runs the step once; later calls share the result."""

    def __init__(
        self,
        step: Runs,
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
        if not depends:
            depends = _implicit(name, fn, step.decorated)
        step.decorated[fn.__name__] = self
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
            signals = [e for e in errors if not isinstance(e, Exception)]
            if signals:
                raise signals[0]
            if errors:
                raise errors[0]
        else:
            for index, dep in enumerate(self._depends):
                results[index] = await dep()
        args: tuple[Any, ...] = tuple(results)
        kwargs: dict[str, Any] = {}
        if self._depends:
            params = inspect.signature(self._fn).parameters
            names = [dep.__name__ for dep in self._depends]
            if all(n in params for n in names):  # bind dependency results by parameter name
                args, kwargs = (), dict(zip(names, results, strict=True))
        return await self._step.run_step(self.name, self._config, self._fn, args, kwargs, self.undo_spec())

    def undo_spec(self) -> Any:
        """The undo to register when the step completes (a with_rollback step's; none here)."""
        return None
