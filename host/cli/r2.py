"""`waypost r2 object get|put|delete BUCKET/KEY` and `waypost r2 object list BUCKET`, as wrangler's,
on the data directory's buckets."""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Any

from host.cli.output import print_json, table, user_errors
from host.cli.storage import common, load_target, run
from host.storage.r2 import R2Bucket, R2Object


def _bucket(name: str, args: argparse.Namespace) -> R2Bucket:
    target = load_target(args)
    return R2Bucket(target.r2(name).folder(target.data_dir), tidy=False)


def _object(args: argparse.Namespace) -> tuple[R2Bucket, str]:
    bucket, slash, key = args.path.partition("/")
    if not slash or not bucket or not key:
        raise ValueError(f"{args.path!r} is not BUCKET/KEY")
    return _bucket(bucket, args), key


def _doc(obj: R2Object) -> dict[str, Any]:
    return {
        "key": obj.key,
        "size": obj.size,
        "etag": obj.etag,
        "uploaded": obj.uploaded.isoformat(),
        "http_metadata": obj.http_metadata,
        "custom_metadata": obj.custom_metadata,
    }


@user_errors
def cmd_get(args: argparse.Namespace) -> int:
    bucket, key = _object(args)
    found = run(lambda: bucket.get(key))
    if found is None:
        raise LookupError(f"object {key!r} not found in {args.path.partition('/')[0]}")
    if args.file is not None:
        Path(args.file).write_bytes(found.body)
        if not args.json:
            print(f"Wrote {found.size} bytes of {key!r} to {args.file}.")
    if args.json:
        print_json(_doc(found))
    elif args.file is None:
        sys.stdout.buffer.write(found.body)
        sys.stdout.flush()
    return 0


@user_errors
def cmd_put(args: argparse.Namespace) -> int:
    bucket, key = _object(args)
    if (args.file is None) == (not args.pipe):
        raise ValueError("give one of --file F or --pipe (the object from standard input)")
    data = sys.stdin.buffer.read() if args.pipe else Path(args.file).read_bytes()
    http = {k: v for k, v in (("contentType", args.content_type), ("cacheControl", args.cache_control)) if v}
    obj = run(lambda: bucket.put(key, data, http_metadata=http))
    if args.json:
        print_json(_doc(obj))
    else:
        print(f"Uploaded {obj.size} bytes to {args.path} (etag {obj.etag}).")
    return 0


@user_errors
def cmd_delete(args: argparse.Namespace) -> int:
    bucket, key = _object(args)
    run(lambda: bucket.delete(key))
    if args.json:
        print_json({"key": key, "deleted": True})
    else:
        print(f"Deleted {args.path}.")
    return 0


@user_errors
def cmd_list(args: argparse.Namespace) -> int:
    bucket = _bucket(args.bucket, args)
    objects: list[R2Object] = []
    cursor = None
    while True:
        page = run(functools.partial(bucket.list, prefix=args.prefix or "", cursor=cursor))
        objects += page["objects"]
        if not page["truncated"]:
            break
        cursor = page["cursor"]
    if args.json:
        print_json([_doc(o) for o in objects])
    elif not objects:
        print("No objects.")
    else:
        rows = [(o.key, o.size, o.uploaded.strftime("%Y-%m-%d %H:%M:%S"), o.etag) for o in objects]
        print(table(rows, ("Key", "Size", "Uploaded (UTC)", "Etag")))
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    r2 = subparsers.add_parser(
        "r2", help="read and write R2 buckets", description="R2 buckets, on the data directory."
    )
    sub = r2.add_subparsers(dest="r2_command", metavar="COMMAND", required=True)
    obj = sub.add_parser("object", help="get, put, delete and list objects")
    osub = obj.add_subparsers(dest="r2_object_command", metavar="COMMAND", required=True)

    p = osub.add_parser("get", help="print an object (or write it to --file)")
    p.add_argument("path", metavar="BUCKET/KEY")
    p.add_argument("--file", metavar="F", help="write the object to this file")
    common(p)
    p.set_defaults(handler=cmd_get)

    p = osub.add_parser("put", help="upload an object from --file or --pipe")
    p.add_argument("path", metavar="BUCKET/KEY")
    p.add_argument("--file", metavar="F", help="the file to upload")
    p.add_argument("--pipe", action="store_true", help="read the object from standard input")
    p.add_argument("--content-type", metavar="TYPE", help="its Content-Type")
    p.add_argument("--cache-control", metavar="VALUE", help="its Cache-Control")
    common(p)
    p.set_defaults(handler=cmd_put)

    p = osub.add_parser("delete", help="delete an object")
    p.add_argument("path", metavar="BUCKET/KEY")
    common(p)
    p.set_defaults(handler=cmd_delete)

    p = osub.add_parser("list", help="list a bucket's objects, in key order")
    p.add_argument("bucket", metavar="BUCKET")
    p.add_argument("--prefix", help="only keys starting with this")
    common(p)
    p.set_defaults(handler=cmd_list)
