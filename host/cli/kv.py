"""`waypost kv key list|get|put|delete`: wrangler's KV commands, on the data directory."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from host.cli.output import print_json, table, user_errors
from host.cli.storage import StorageTarget, common, load_target, run, show
from host.storage.kv import KVNamespace


def _namespace(args: argparse.Namespace) -> tuple[StorageTarget, KVNamespace]:
    target = load_target(args)
    ns = target.kv(args.binding, args.namespace_id)
    return target, KVNamespace(ns.folder(target.data_dir))


@user_errors
def cmd_list(args: argparse.Namespace) -> int:
    _, kv = _namespace(args)
    keys: list[dict[str, Any]] = []
    cursor = None
    while True:  # every page, as wrangler's `kv key list` prints them all
        page = run(functools.partial(kv.list, prefix=args.prefix or "", cursor=cursor))
        keys += page["keys"]
        if page["list_complete"]:
            break
        cursor = page["cursor"]
    if args.json:
        print_json(keys)
    elif not keys:
        print("No keys.")
    else:
        rows = [(k["name"], _when(k.get("expiration")), _meta(k.get("metadata"))) for k in keys]
        print(table(rows, ("Key", "Expires", "Metadata")))
    return 0


@user_errors
def cmd_get(args: argparse.Namespace) -> int:
    _, kv = _namespace(args)
    if args.json:
        found = run(lambda: kv.get_with_metadata(args.key, type="text"))
        if found["value"] is None:
            raise LookupError(f"key {args.key!r} not found")
        print_json({"key": args.key, "value": found["value"], "metadata": found["metadata"]})
        return 0
    value = run(lambda: kv.get(args.key, type="bytes"))
    if value is None:
        raise LookupError(f"key {args.key!r} not found")
    if args.text:
        print(value.decode("utf-8", errors="replace"))
    else:
        sys.stdout.buffer.write(value)
        sys.stdout.flush()
    return 0


@user_errors
def cmd_put(args: argparse.Namespace) -> int:
    _, kv = _namespace(args)
    if (args.value is None) == (args.path is None):
        raise ValueError("give the VALUE or --path FILE (one of them)")
    value: bytes | str = args.value if args.path is None else Path(args.path).read_bytes()
    metadata = None
    if args.metadata is not None:
        try:
            metadata = json.loads(args.metadata)
        except ValueError as exc:
            raise ValueError(f"--metadata is not valid JSON: {exc}") from None
    run(
        lambda: kv.put(
            args.key, value, expiration=args.expiration, expiration_ttl=args.ttl, metadata=metadata
        )
    )
    if args.json:
        print_json({"key": args.key, "written": True})
    else:
        print(f"Wrote key {args.key!r}.")
    return 0


@user_errors
def cmd_delete(args: argparse.Namespace) -> int:
    _, kv = _namespace(args)
    run(lambda: kv.delete(args.key))
    if args.json:
        print_json({"key": args.key, "deleted": True})
    else:
        print(f"Deleted key {args.key!r}.")
    return 0


def _when(expiration: int | None) -> str:
    return (
        "-"
        if expiration is None
        else datetime.fromtimestamp(expiration, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    )


def _meta(metadata: Any) -> str:
    return "-" if metadata is None else show(json.dumps(metadata, ensure_ascii=False))


def _flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--binding", metavar="NAME", help="the kv_namespaces binding in the config")
    p.add_argument("--namespace-id", metavar="ID", help="the namespace id (its folder data/kv/<ID>/)")
    common(p)


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    kv = subparsers.add_parser(
        "kv", help="read and write KV namespaces", description="KV namespaces, on the data directory."
    )
    sub = kv.add_subparsers(dest="kv_command", metavar="COMMAND", required=True)
    key = sub.add_parser("key", help="list, get, put and delete keys")
    ksub = key.add_subparsers(dest="kv_key_command", metavar="COMMAND", required=True)

    p = ksub.add_parser("list", help="list the keys (every page), in key order")
    p.add_argument("--prefix", help="only keys starting with this")
    _flags(p)
    p.set_defaults(handler=cmd_list)

    p = ksub.add_parser("get", help="print a key's value")
    p.add_argument("key", metavar="KEY")
    p.add_argument("--text", action="store_true", help="decode the value as UTF-8 text")
    _flags(p)
    p.set_defaults(handler=cmd_get)

    p = ksub.add_parser("put", help="write a key (durable when the command returns)")
    p.add_argument("key", metavar="KEY")
    p.add_argument("value", metavar="VALUE", nargs="?", help="the value (or --path FILE)")
    p.add_argument("--path", metavar="FILE", help="read the value from FILE")
    p.add_argument("--ttl", type=float, metavar="SECONDS", help="expire this many seconds from now")
    p.add_argument("--expiration", type=float, metavar="EPOCH", help="expire at this time (epoch seconds)")
    p.add_argument("--metadata", metavar="JSON", help="metadata to keep with the key, as JSON")
    _flags(p)
    p.set_defaults(handler=cmd_put)

    p = ksub.add_parser("delete", help="delete a key")
    p.add_argument("key", metavar="KEY")
    _flags(p)
    p.set_defaults(handler=cmd_delete)
