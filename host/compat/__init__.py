"""The `workers` module that worker code imports, so Cloudflare Python workers run unchanged.

`register()` puts this package in `sys.modules` as `workers` and its `workflows` submodule as
`workers.workflows`; the loader calls it before any worker module runs.
"""

from __future__ import annotations

import sys

from host.compat import workflows
from host.runtime.entrypoint import WorkerEntrypoint
from host.runtime.http import Request, Response
from host.workflows.entrypoint import WorkflowEntrypoint

__all__ = ["Request", "Response", "WorkerEntrypoint", "WorkflowEntrypoint", "workflows"]


def register() -> None:
    """Make `import workers` and `import workers.workflows` resolve to this package."""
    sys.modules["workers"] = sys.modules[__name__]
    sys.modules["workers.workflows"] = workflows
