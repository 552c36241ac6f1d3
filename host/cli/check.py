"""`waypost workflows check [NAME] [--all] [--json]`: does the code on disk fit the instances in flight?

Each unfinished instance's journal (every instance's, with --all) is replayed against the
workflow class in functions/ as it is now (host.workflows.replay): recorded steps return their
recorded outcomes, no step runs, nothing is written. An instance is `ok` when the code asks for
the journal's steps in the journal's order; otherwise the first divergence is printed as a short
diff (the journal's step, what the code asked for instead, and the code's file and line). The
exit status is 1 when any instance diverges or cannot be read, so a deploy script can stop on it.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio

from host.cli.output import print_json, user_errors
from host.cli.target import add_common
from host.config import Config, display_path, find_config, load_config
from host.errors import ConfigError, WaypostError, WorkerLoadError
from host.runtime.env import Env, build_envs
from host.runtime.http import Request, Response
from host.runtime.loader import load_worker
from host.store.filestore import FileStore
from host.workflows.replay import Divergence, ReplayResult, replay
from host.workflows.statuses import FINAL_VALUES


class _NoBindings:
    """A binding during a check: code outside steps must not call one (SPEC 3.6), and a check
    writes nothing, so any use is an error naming it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        raise RuntimeError(
            f"workflows check replays without bindings: {self._name}.{attr} was used outside a step"
        )


async def _no_invoke(worker: str, request: Request) -> Response:
    raise RuntimeError(
        f"workflows check replays without bindings: a call to worker {worker!r} outside a step"
    )


@dataclass(frozen=True)
class Checked:
    workflow: str
    instance_id: str
    status: str
    result: ReplayResult | None  # None: the journal could not be used
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.ok


def _step(step: tuple[str, str, int] | None) -> dict[str, Any] | None:
    if step is None:
        return None
    kind, name, count = step
    return {"kind": kind, "name": name, "count": count}


def _json(item: Checked) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "workflow": item.workflow,
        "id": item.instance_id,
        "status": item.status,
        "ok": item.ok,
    }
    if item.result is not None:
        doc["replayed"] = item.result.replayed
        div: Divergence | None = item.result.divergence
        if div is not None:
            doc["divergence"] = {
                "step": div.index + 1,
                "journal": _step(div.journal),
                "code": _step(div.code),
                "where": div.where,
            }
    if item.problem is not None:
        doc["problem"] = item.problem
    return doc


def _text(item: Checked) -> str:
    head = f"{item.workflow} {item.instance_id} ({item.status}):"
    if item.problem is not None:
        return f"{head} cannot be checked: {item.problem}"
    assert item.result is not None
    if item.result.ok:
        return f"{head} ok ({item.result.replayed} recorded step(s) replayed)"
    div = item.result.divergence
    assert div is not None
    if div.where is not None:  # the code's file as the user typed it: relative to here when under it
        file, _, line = div.where.rpartition(":")
        div = replace(div, where=f"{display_path(Path(file))}:{line}")
    lines = str(div).splitlines()
    return "\n".join([f"{head} diverges at {lines[0].rstrip(':')}", *("  " + line for line in lines[1:])])


def _classes(config: Config, names: list[str]) -> dict[str, tuple[type, Env]]:
    """The workflow class and env of each workflow in `names`, from the worker modules as they
    are now. A worker that defines one of them must load: its import error (file:line) or missing
    class stops the check. Any other worker that fails to load is a one-line warning on stderr and
    changes nothing (SPEC 1: an import failure affects only that worker)."""
    envs = build_envs(config, _no_invoke, _NoBindings)
    found: dict[str, tuple[type, Env]] = {}
    for index, worker in enumerate(config.workers):
        try:
            module = _load(config, index)
        except (WorkerLoadError, ConfigError) as exc:
            if any(wf.script_name is None and wf.name in names for wf in worker.workflows):
                raise
            first = str(exc).splitlines()[0]
            print(f"waypost: warning: worker {worker.name!r} not loaded: {first}", file=sys.stderr)
            continue
        for wf in worker.workflows:
            if wf.script_name is None and wf.name in names:
                found[wf.name] = (getattr(module, wf.class_name), envs[worker.name])
    return found


def _load(config: Config, index: int) -> ModuleType:
    """Import worker `index` afresh; ConfigError if a workflow class it defines is missing."""
    worker = config.workers[index]
    module = load_worker(worker.name, worker.main).module
    for j, wf in enumerate(worker.workflows):
        if wf.script_name is None and not isinstance(getattr(module, wf.class_name, None), type):
            raise ConfigError(
                *config.where(index, f"workflows[{j}].class_name"),
                f"no class {wf.class_name!r} in {worker.main.name}",
            )
    return module


async def _check(store: FileStore, workflow: str, cls: type, env: Env, everything: bool) -> list[Checked]:
    checked: list[Checked] = []
    docs = sorted(store.statuses(workflow), key=lambda d: (d.get("created_on") or "", str(d.get("id"))))
    for doc in docs:
        status, instance_id = str(doc.get("status")), str(doc.get("id"))
        if status in FINAL_VALUES and not everything:
            continue
        entries, bad = store.read_journal(workflow, instance_id)
        if bad:
            checked.append(Checked(workflow, instance_id, status, None, "; ".join(bad)))
            continue
        checked.append(Checked(workflow, instance_id, status, await replay(entries, cls, env)))
    return checked


@user_errors
def cmd_check(args: argparse.Namespace) -> int:
    path: Path | None = args.config if args.config is not None else find_config(Path("."))
    config = load_config(path, overrides={"data_dir": args.data} if args.data else None)
    defined = [wf.name for w in config.workers for wf in w.workflows if wf.script_name is None]
    if args.name is not None and args.name not in defined:
        raise WaypostError(
            f"no workflow {args.name!r} in {config.file} (workflows: {', '.join(defined) or 'none'})"
        )
    names = [args.name] if args.name is not None else defined
    classes = _classes(config, names)
    store = FileStore(config.host.data_dir, config.host.durability)

    async def main() -> list[Checked]:
        try:
            found: list[Checked] = []
            for name in names:
                cls, env = classes[name]
                found += await _check(store, name, cls, env, args.all)
            return found
        finally:
            await store.aclose()

    checked = anyio.run(main)
    failed = sum(not item.ok for item in checked)
    if args.json:
        print_json(checked and [_json(item) for item in checked])
    elif not checked:
        print(f"No {'' if args.all else 'unfinished '}instances to check.")
    else:
        for item in checked:
            print(_text(item))
        print(f"{len(checked)} instance(s) checked: {len(checked) - failed} ok, {failed} not")
    return 1 if failed else 0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `check` under `waypost workflows`."""
    p = sub.add_parser(
        "check",
        help="replay instances' journals against the current code (exit 1 on a divergence)",
        description="Replay the journal of every unfinished instance against the workflow code as it "
        "is now, running no step and writing nothing; print ok or the first divergence.",
    )
    p.add_argument("name", metavar="NAME", nargs="?", help="only this workflow (default: all)")
    p.add_argument("--all", action="store_true", help="finished instances too")
    add_common(p)
    p.set_defaults(handler=cmd_check)
