"""The deployment the lifecycle tests (REST and CLI) serve: the admin tests' workflows, a saga whose undo
can be held, and a step whose output is sensitive.

Side effects are counted in files outside data/ that params name, so "ran once" is measured."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.admin_deployment import CONFIG, WORKER
from tests.helpers import make_deployment

EXTRA = '''

import asyncio
import os


class Saga(WorkflowEntrypoint):
    """params: {"count": file, "gate": file?}: the undo appends to `count`, after `gate` exists."""

    async def run(self, event, step):
        params = event.payload

        @step.with_rollback("reserve")
        async def reserve():
            return {"booking": 7}

        @reserve.undo
        async def cancel(error, value):
            while params.get("gate") and not os.path.exists(params["gate"]):
                await asyncio.sleep(0.02)
            with open(params["count"], "a") as counts:
                counts.write(f"undo {value['booking']}\\n")

        await reserve()
        await step.wait_for_event("hold", "never", timeout="1 hour")


class Secret(WorkflowEntrypoint):
    async def run(self, event, step):
        token = await step.do("token", {"sensitive": "output"}, lambda: {"token": "s3cr3t-value"})
        await step.do("plain", lambda: "visible-value")
        return {"length": len(token["token"])}
'''

LIFECYCLE_CONFIG = (
    CONFIG
    + "      - {name: saga, binding: SAGA, class_name: Saga}\n"
    + "      - {name: secret, binding: SECRET, class_name: Secret}\n"
)


def lifecycle_deployment(tmp_path: Path) -> Path:
    return make_deployment(tmp_path, {"functions/jobs.py": WORKER + EXTRA}, LIFECYCLE_CONFIG)
