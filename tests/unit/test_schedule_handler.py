"""host.schedules.handler: the scheduled handler forms of SPEC 2.1, found in real module files."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from host.runtime.loader import load_worker
from host.schedules.handler import ScheduledController, call_scheduled, find_scheduled

FORMS = {
    "module": """
        async def scheduled(controller, env, ctx):
            env.append(("module", controller.cron, controller.scheduledTime, ctx))
    """,
    "older_name": """
        def on_scheduled(controller, env):
            env.append(("older_name", controller.cron, controller.scheduled_time, None))
    """,
    "one_parameter": """
        async def scheduled(controller):
            controller.no_retry()
            controller.seen.append(("one_parameter", controller.cron, controller.retry, None))
    """,
    "class_form": """
        from workers import WorkerEntrypoint

        class Default(WorkerEntrypoint):
            async def fetch(self, request):
                return "ok"

            async def scheduled(self, controller, env, ctx):
                env.append(("class_form", controller.cron, self.env is env, self.ctx is ctx))
    """,
    "plain_class": """
        class Default:
            async def scheduled(self, controller):
                self.env.append(("plain_class", controller.cron, controller.type, self.ctx))
    """,
}


@pytest.mark.anyio
@pytest.mark.parametrize("form", sorted(FORMS))
async def test_each_form_is_found_and_given_what_it_takes(tmp_path: Path, form: str) -> None:
    path = tmp_path / f"{form}.py"
    path.write_text(textwrap.dedent(FORMS[form]), encoding="utf-8")
    handler = find_scheduled(load_worker(f"sched-{form}", path).module)
    assert handler is not None
    seen: list[Any] = []
    controller = ScheduledController("*/5 * * * *", 1_796_128_500_000)
    controller.seen = seen  # type: ignore[attr-defined]
    ctx = object()
    await call_scheduled(handler, controller, seen, ctx)
    expected = {
        "module": ("module", "*/5 * * * *", 1_796_128_500_000, ctx),
        "older_name": ("older_name", "*/5 * * * *", 1_796_128_500_000, None),
        "one_parameter": ("one_parameter", "*/5 * * * *", False, None),
        "class_form": ("class_form", "*/5 * * * *", True, True),
        "plain_class": ("plain_class", "*/5 * * * *", "scheduled", ctx),
    }
    assert seen == [expected[form]]


def test_a_module_without_one_has_none(tmp_path: Path) -> None:
    path = tmp_path / "plain.py"
    path.write_text("async def fetch(request, env):\n    return 'ok'\n", encoding="utf-8")
    assert find_scheduled(load_worker("sched-plain", path).module) is None
