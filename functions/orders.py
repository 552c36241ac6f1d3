"""An order workflow: charge the card, wait for the shipment, let it arrive, notify the customer.

HTTP (see README "A workflow, with curl"):
  POST /orders                      {"total": 25, "id": "order-1"}  -> create an instance
  GET  /orders/<id>                 -> its status
  POST /orders/<id>/events/<type>   body = payload               -> send an event
  POST /orders/<id>/<action>        pause | resume | terminate | restart
"""

from workers import Response, WorkflowEntrypoint
from workers.workflows import NonRetryableError

from host import InstanceExists, InstanceNotFound, WaitTimeoutError


class OrderWorkflow(WorkflowEntrypoint):
    async def run(self, event, step):
        order = event.payload
        if not isinstance(order.get("total"), int | float) or order["total"] <= 0:
            raise NonRetryableError("an order needs a positive 'total'")

        # Retries with exponential backoff: a flaky gateway is retried, a bad card is not.
        @step.do(
            "charge card",
            config={
                "retries": {"limit": 3, "delay": "1 second", "backoff": "exponential"},
                "timeout": "30 seconds",
            },
        )
        async def charge(ctx):
            if order.get("card") == "declined":
                raise NonRetryableError("card declined")
            if order.get("flaky_gateway") and ctx.attempt == 1:
                raise ConnectionError("payment gateway timed out")
            return {
                "charge_id": f"ch_{event.instance_id}",
                "amount": order["total"],
                "currency": self.env.CURRENCY,
                "attempts": ctx.attempt,
            }

        charged = await charge()

        try:
            shipment = await step.wait_for_event(
                "wait for shipment", "shipment", timeout=self.env.SHIP_TIMEOUT
            )
        except WaitTimeoutError:
            refund = await step.do("refund", lambda: {"refunded": charged["charge_id"]})
            return {"order": event.instance_id, "outcome": "refunded", **refund}

        await step.sleep("let it arrive", self.env.DELIVERY_WAIT)

        @step.do("notify customer")
        async def notify():
            carrier = shipment["payload"].get("carrier", "post")
            return {"message": f"Order {event.instance_id} was delivered by {carrier}"}

        note = await notify()
        return {"order": event.instance_id, "outcome": "delivered", "charge": charged, **note}


async def fetch(request, env):
    parts = [p for p in request.url.path.split("/") if p][1:]  # drop the leading "orders"
    try:
        if request.method == "POST" and not parts:
            body = await request.json() if await request.body() else {}
            instance = await env.ORDERS.create(id=body.pop("id", None), params=body)
            return Response.json({"id": instance.id, **await instance.status()}, status=201)
        instance = await env.ORDERS.get(parts[0]) if parts else None
        if instance is None:
            return Response.json({"error": "POST /orders to create an order"}, status=404)
        if request.method == "GET" and len(parts) == 1:
            return {"id": instance.id, **await instance.status()}
        if request.method == "POST" and len(parts) == 3 and parts[1] == "events":
            payload = await request.json() if await request.body() else None
            await instance.send_event(type=parts[2], payload=payload)
            return Response.json({"sent": parts[2]}, status=202)
        if (
            request.method == "POST"
            and len(parts) == 2
            and parts[1] in ("pause", "resume", "terminate", "restart")
        ):
            await getattr(instance, parts[1])()
            return Response.json({"id": instance.id, "requested": parts[1]}, status=202)
    except InstanceNotFound as exc:
        return Response.json({"error": str(exc)}, status=404)
    except InstanceExists as exc:
        return Response.json({"error": str(exc)}, status=409)
    except ValueError as exc:  # bad ids, params, event types, forbidden transitions
        return Response.json({"error": str(exc)}, status=400)
    return Response.json({"error": "not found"}, status=404)
