"""R2's two kinds of object metadata, checked: http_metadata (Content-Type and friends) and
custom_metadata (str to str, 2 KiB in all, as Cloudflare)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from host.storage.shapes import StorageInputError

MAX_CUSTOM = 2048  # bytes of keys and values together

# Cloudflare's R2HTTPMetadata fields, and the header each one is written as
HTTP_FIELDS = {
    "contentType": "content-type",
    "contentLanguage": "content-language",
    "contentDisposition": "content-disposition",
    "contentEncoding": "content-encoding",
    "cacheControl": "cache-control",
    "cacheExpiry": "expires",
}
_ALIASES = {
    **{name: name for name in HTTP_FIELDS},
    **{header: name for name, header in HTTP_FIELDS.items()},
    **{header.replace("-", "_"): name for name, header in HTTP_FIELDS.items()},
    "cache_expiry": "cacheExpiry",
}


def header_name(field: str) -> str:
    return HTTP_FIELDS.get(field, field)


def http_metadata(value: Any) -> dict[str, str]:
    """{contentType: ..., ...} from camelCase, snake_case or header names, in a dict or a Headers
    object (whose other headers are skipped, as Cloudflare does)."""
    if value is None:
        return {}
    if not callable(getattr(value, "items", None)):
        raise StorageInputError(f"R2 put: http_metadata must be a dict, got {type(value).__name__}")
    fields: dict[str, str] = {}
    for k, v in value.items():
        name = _ALIASES.get(k) or _ALIASES.get(k.lower()) if isinstance(k, str) else None
        if name is None:
            if isinstance(value, dict):
                raise StorageInputError(
                    f"R2 put: unknown http_metadata field {k!r} (expected one of: {', '.join(HTTP_FIELDS)})"
                )
            continue
        fields[name] = _text(v, f"http_metadata.{k}")
    return fields


def custom_metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise StorageInputError(f"R2 put: custom_metadata must be a dict, got {type(value).__name__}")
    size = 0
    for k, v in value.items():
        if not isinstance(k, str):
            raise StorageInputError(f"R2 put: custom_metadata keys must be str, got {type(k).__name__}")
        size += len(_text(k, "custom_metadata key").encode()) + len(_text(v, f"custom_metadata.{k}").encode())
    if size > MAX_CUSTOM:
        raise StorageInputError(f"R2 put: custom_metadata is {size} bytes, over the limit of {MAX_CUSTOM}")
    return dict(value)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise StorageInputError(f"R2 put: {what} must be a str, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise StorageInputError(f"R2 put: {what} is not valid Unicode text") from None
    return value
