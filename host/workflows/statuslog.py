"""The log line of an instance status change (logger `waypost.instance`; `serve --log-format json`
turns it into an `instance_status` event, SPEC 8). The text log leaves it out (host.log). The
store writes it for the queued status a create makes (host.store.filestore), the metrics lease
for every later one (host.metrics_lease)."""

from __future__ import annotations

import logging
from typing import Any

status_log = logging.getLogger("waypost.instance")


def log_status(workflow: str, instance_id: str, status: str, error: Any = None) -> None:
    """One line for an instance now in `status` (with its error, for errored)."""
    if not status_log.isEnabledFor(logging.INFO):
        return
    fields: dict[str, Any] = {"workflow": workflow, "instance_id": instance_id, "status": status}
    if error:
        fields["error"] = error
    status_log.info("instance %s/%s %s", workflow, instance_id, status, extra={"fields": fields})
