"""Who may call the admin API: bearer tokens from WAYPOST_API_TOKEN, else loopback clients only."""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Mapping

from starlette.requests import Request

from host.admin.envelope import ApiError
from host.errors import ConfigError

TOKEN_ENV = "WAYPOST_API_TOKEN"


class TokenAuth:
    """Checks `Authorization: Bearer <token>` against the configured tokens in constant time."""

    def __init__(self, tokens: tuple[str, ...]) -> None:
        self.tokens = tuple(t.encode() for t in tokens)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> TokenAuth:
        """The tokens of WAYPOST_API_TOKEN (unset or empty: none, so loopback clients only).

        Raises ConfigError when it is set to commas and spaces alone: whoever set it meant to require
        a token, and serving loopback-only instead would hide the mistake.
        """
        raw = (os.environ if environ is None else environ).get(TOKEN_ENV, "")
        tokens = tuple(t.strip() for t in raw.split(",") if t.strip())
        if raw and not tokens:
            raise ConfigError(  # as config.py names an environment override it refuses
                "environment",
                TOKEN_ENV,
                f"holds no token ({raw!r}); set it to one or more comma-separated tokens, "
                "or unset it to answer loopback clients only",
            )
        return cls(tokens)

    def check(self, request: Request) -> None:
        """Return if the request may proceed; raise ApiError (401 or 403) if not."""
        if not self.tokens:
            if not is_loopback(request.client.host if request.client else None):
                raise ApiError(
                    "auth.not_loopback",
                    f"no API token is configured ({TOKEN_ENV}), so the admin "
                    "API answers only clients on this machine",
                )
            return
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError("auth.missing", "missing 'Authorization: Bearer <token>' header")
        given = token.strip().encode()
        # compare against every token so the time taken does not say which one (or whether any) matched
        matched = False
        for expected in self.tokens:
            matched |= hmac.compare_digest(given, expected)
        if not matched:
            raise ApiError("auth.invalid", "the API token is not valid")


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host == "localhost"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback
