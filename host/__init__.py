"""Waypost: Workers-style functions and durable workflows served from a folder of files."""

from __future__ import annotations

from host.errors import InstanceExists, InstanceNotFound, NonRetryableError, StepError, WaitTimeoutError
from host.runtime.entrypoint import WorkerEntrypoint
from host.runtime.http import Response
from host.workflows.entrypoint import WorkflowEntrypoint

__version__ = "0.1.0"

__all__ = [
    "InstanceExists",
    "InstanceNotFound",
    "NonRetryableError",
    "Response",
    "StepError",
    "WaitTimeoutError",
    "WorkerEntrypoint",
    "WorkflowEntrypoint",
    "__version__",
]
