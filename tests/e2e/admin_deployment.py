"""The deployment the admin API and CLI tests serve: one workflow driven by its params."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import make_deployment

WORKER = '''
from workers import WorkflowEntrypoint


class Flow(WorkflowEntrypoint):
    """params: {"fail": n} fails step "flaky" n times first; {"wait": "type"} waits for that event."""

    async def run(self, event, step):
        params = event.payload or {}
        failures = params.get("fail", 0)

        async def flaky(ctx):
            if ctx.attempt <= failures:
                raise ValueError(f"attempt {ctx.attempt} failed")
            return {"attempt": ctx.attempt}

        first = await step.do("flaky", {"retries": {"limit": 3, "delay": 10, "backoff": "constant"}}, flaky)
        await step.sleep("nap", params.get("nap", 0.05))
        got = None
        if params.get("wait"):
            got = await step.wait_for_event("approval", params["wait"], timeout="1 minute")
        second = await step.do("finish", lambda: "done")
        return {"first": first, "event": got and got["payload"], "second": second}


class Broken(WorkflowEntrypoint):
    async def run(self, event, step):
        def boom():
            raise RuntimeError("no way")

        await step.do("boom", {"retries": {"limit": 0, "delay": 1}}, boom)
'''

CONFIG = """
host:
  data_dir: data
  account_id: acct
  hibernate_after: 0
  max_body: 4096
workers:
  - name: jobs
    main: functions/jobs.py
    routes: ["/jobs"]
    workflows:
      - {name: flow, binding: FLOW, class_name: Flow, limits: {steps: 50}}
      - {name: broken, binding: BROKEN, class_name: Broken}
"""


def admin_deployment(tmp_path: Path) -> Path:
    return make_deployment(tmp_path, {"functions/jobs.py": WORKER}, CONFIG)
