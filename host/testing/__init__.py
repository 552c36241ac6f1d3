"""Testing Waypost workflows (SPEC 9): the `waypost` pytest fixture and a replay check.

    async def test_refund(waypost):
        dep = waypost.deployment("config.yaml")
        async with dep.workflow("order-workflow").modify() as m:
            await m.disable_sleeps()
        inst = await dep.env("orders").ORDERS.create(params={"total": 5})
        assert (await inst.output())["outcome"] == "paid"

    result = host.testing.replay("data/.../journal.jsonl", OrderWorkflow)   # ok or divergence

The fixture comes from host.testing.plugin, which the package registers with pytest. Names
here are imported when first used, so that loading the plugin imports nothing else.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from host.testing.deployment import Deployment
    from host.testing.handles import KitInstance, WaitFailed
    from host.testing.kit import Kit
    from host.testing.modify import Modifier, WorkflowTester
    from host.testing.replaying import Divergence, ReplayResult, replay

_WHERE = {
    "Deployment": "host.testing.deployment",
    "Divergence": "host.testing.replaying",
    "Kit": "host.testing.kit",
    "KitInstance": "host.testing.handles",
    "Modifier": "host.testing.modify",
    "ReplayResult": "host.testing.replaying",
    "WaitFailed": "host.testing.handles",
    "WorkflowTester": "host.testing.modify",
    "replay": "host.testing.replaying",
}
__all__ = [
    "Deployment",
    "Divergence",
    "Kit",
    "KitInstance",
    "Modifier",
    "ReplayResult",
    "WaitFailed",
    "WorkflowTester",
    "replay",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'host.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
