"""A storefront worker that starts orders through a cross-script workflow binding (script_name: orders)."""

from workers import Response


async def fetch(request, env):
    total = float(request.query_params.get("total", "10"))
    instance = await env.ORDERS.create(params={"total": total, "source": "shop"})
    return Response.json({"order": instance.id, "track": f"/orders/{instance.id}"}, status=201)
