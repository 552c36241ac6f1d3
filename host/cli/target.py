"""What every `waypost workflows ...` command starts from: the data directory (found like `serve` finds
it), what config.yaml says of its workflows, the service over them, and the instance a command names."""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio

from host.admin import shapes
from host.store.filestore import FileStore
from host.workflows.service import WorkflowService

T = TypeVar("T")


@dataclass
class Target:
    """The data directory, what config.yaml (if any) says about its workflows, and the service."""

    data_dir: Path
    durability: str
    defined: dict[str, shapes.WorkflowInfo]
    has_config: bool
    service: WorkflowService = field(init=False)

    def __post_init__(self) -> None:
        known = (lambda: set(self.defined)) if self.has_config else None
        self.service = WorkflowService(
            store=FileStore(self.data_dir, self.durability), known=known, retention_default=self._retention
        )

    def _retention(self, name: str) -> dict[str, float] | None:
        """The workflow's default retention in config.yaml (SPEC 3.11): `trigger` applies it too."""
        info = self.defined.get(name)
        return info.retention if info is not None else None

    def names(self) -> list[str]:
        return sorted(set(self.defined) | set(self.service.store.workflows()))

    def info(self, name: str) -> shapes.WorkflowInfo:
        """The workflow `name`; WorkflowNotFound unless config.yaml defines it (without one: it has data)."""
        self.service.require(name)
        return self.defined.get(name) or shapes.WorkflowInfo(name)

    def run(self, operation: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Run one of the service's async operations to its end, durable writes included."""

        async def main() -> T:
            try:
                return await operation(*args, **kwargs)
            finally:
                await self.service.store.aclose()

        return anyio.run(main)


def load_target(args: argparse.Namespace) -> Target:
    """Find the data directory like `serve`: --config (or find_config), --data, WAYPOST_DATA_DIR."""
    from host.config import find_config, load_config

    path: Path | None = args.config
    if path is None:
        path = find_config(Path("."))
    config = load_config(path, overrides={"data_dir": args.data} if args.data else None)
    return Target(
        config.host.data_dir, config.host.durability, shapes.workflow_infos(config), path is not None
    )


def parse_json_arg(text: str | None, what: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from None


def resolve_id(target: Target, workflow: str, instance_id: str) -> str:
    """`latest` means the newest instance of the workflow."""
    if instance_id != "latest":
        return instance_id
    docs = target.service.list_instances(workflow)
    if not docs:
        raise LookupError(f"workflow {workflow!r} has no instances yet")
    return str(docs[0]["id"])


def load_instance(args: argparse.Namespace) -> tuple[Target, shapes.WorkflowInfo, str]:
    """The data directory, the workflow NAME and the instance ID|latest a command names."""
    target = load_target(args)
    info = target.info(args.name)
    return target, info, resolve_id(target, info.name, args.id)


def add_location(p: argparse.ArgumentParser) -> None:
    """--config/-c and --data: where the deployment and its data directory are (serve takes them too)."""
    p.add_argument(
        "-c",
        "--config",
        metavar="PATH",
        type=Path,
        help="config file (default: ./config.yaml or ./wrangler.*)",
    )
    p.add_argument("--data", metavar="DIR", help="data directory (default: host.data_dir, or ./data)")


def add_common(p: argparse.ArgumentParser) -> None:
    """--config/-c, --data and --json, which every `workflows` command takes."""
    add_location(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def add_paging(p: argparse.ArgumentParser, what: str) -> None:
    """wrangler's --page and --per-page."""
    p.add_argument("--page", type=positive, default=1, metavar="N", help="show page N (default 1)")
    p.add_argument(
        "--per-page", type=positive, metavar="N", help=f"{what} per page (default: all on one page)"
    )


def page(items: list[T], args: argparse.Namespace) -> list[T]:
    """The page --page/--per-page ask for (without --per-page, page 1 is everything)."""
    per_page: int | None = args.per_page
    if per_page is None:
        return items if args.page == 1 else []
    start = (args.page - 1) * per_page
    return items[start : start + per_page]


def positive(text: str) -> int:
    """argparse type: a whole number from 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1, got {text!r}")
    return value
