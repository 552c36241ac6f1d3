"""An order: charge the card (5 retries, 10 s apart), let it settle for an hour, then wait up to
24 hours for the shipment; no shipment means a refund."""

from workers import Response, WorkflowEntrypoint

from host import WaitTimeoutError

CHARGE = {"retries": {"limit": 5, "delay": "10 seconds", "backoff": "constant"}, "timeout": "30 seconds"}


class OrderWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        total = event.payload["total"]

        @step.do("charge card", config=CHARGE)
        async def charge(ctx):
            return {"charge_id": f"ch_{event.instance_id}", "amount": total, "attempt": ctx.attempt}

        charged = await charge()
        await step.sleep("let it settle", "1 hour")
        try:
            shipment = await step.wait_for_event("wait for shipment", "shipment", timeout="24 hours")
        except WaitTimeoutError:
            refund = await step.do("refund", lambda: {"refunded": charged["charge_id"]})
            return {"outcome": "refunded", "refund": refund, "currency": self.env.CURRENCY}
        return {
            "outcome": "shipped",
            "carrier": shipment["payload"]["carrier"],
            "charge_id": charged["charge_id"],
            "currency": self.env.CURRENCY,
        }


async def on_fetch(request, env):
    body = await request.json()
    instance = await env.ORDERS.create(params={"total": body["total"]})
    return Response.json({"id": instance.id})
