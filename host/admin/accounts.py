"""The one account this host serves, as Cloudflare's /accounts and /memberships list it: how wrangler
(and other clients) find the account id when CLOUDFLARE_ACCOUNT_ID is not set."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from host.admin import queries as qs
from host.admin.context import AdminContext, page_info
from host.admin.envelope import ApiError, ok

ACCOUNT_NAME = "Waypost"
_NAMESPACE = uuid.UUID("4f0d3c1e-2b7a-4e55-9d0b-8c6f1a2e3b4d")


def account_doc(account_id: str) -> dict[str, Any]:
    return {
        "id": account_id,
        "name": ACCOUNT_NAME,
        "type": "standard",
        "settings": {"enforce_twofactor": False},
        "created_on": None,
    }


def membership_doc(account_id: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(_NAMESPACE, f"membership:{account_id}")),
        "account": account_doc(account_id),
        "status": "accepted",
        "api_access_enabled": True,
        "roles": ["Administrator"],
        "permissions": {},
    }


class AccountHandlers:
    def __init__(self, ctx: AdminContext) -> None:
        self.ctx = ctx

    async def list_accounts(self, request: Request) -> Response:
        return _one_page(request, account_doc(self.ctx.account_id))

    async def get_account(self, request: Request) -> Response:
        wanted = request.path_params["account_id"]
        if wanted != self.ctx.account_id:  # the gate refuses it first; kept for a direct call
            raise ApiError("account.not_found", f"account {wanted!r} not found")
        return ok(account_doc(wanted))

    async def list_memberships(self, request: Request) -> Response:
        return _one_page(request, membership_doc(self.ctx.account_id))


def _one_page(request: Request, doc: dict[str, Any]) -> Response:
    paging = qs.parse_page(request.query_params)
    docs = [doc] if paging.page == 1 else []
    return ok(docs, page_info(paging.page, paging.per_page, len(docs), 1))
