"""``modelvault usage`` and ``modelvault gc``: operations commands on a vault's storage (run on the vault's machine)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import storage_options


def register(subparsers: Any) -> None:
    """Add the operations commands to an argparse ``subparsers`` object."""
    common = storage_options()
    common.add_argument("--json", action="store_true", help="print JSON")
    p = subparsers.add_parser(
        "usage", parents=[common], help="bytes stored per repository, and the store's total"
    )
    p.set_defaults(func=cmd_usage)
    p = subparsers.add_parser(
        "gc",
        parents=[common],
        help="delete blobs nothing needs (safe while servers run); audited",
    )
    p.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    p.add_argument(
        "--grace-seconds",
        type=float,
        default=None,
        help="spare blobs registered more recently than this (default 86400)",
    )
    p.set_defaults(func=cmd_gc)


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def cmd_usage(args: argparse.Namespace) -> int:
    from ..core.identity import SYSTEM
    from ._common import open_vault_from_args as _open

    vault = _open(args)
    try:
        report = vault.usage.report(SYSTEM)
    finally:
        vault.close()
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    for r in report["repositories"]:
        print(f"{r['key']:<32} {r['kind']:<12} {_human(r['bytes']):>11} {r['blobs']:>8} blobs")
    stored = report["stored"]
    print(
        f"{'(stored, shared blobs once)':<45} {_human(stored['bytes']):>11} {stored['blobs']:>8} blobs"
    )
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    from ..core.gc import DEFAULT_GRACE_SECONDS
    from ..core.identity import SYSTEM
    from ._common import open_vault_from_args as _open

    vault = _open(args)
    try:
        grace = DEFAULT_GRACE_SECONDS if args.grace_seconds is None else args.grace_seconds
        # remote caches over their quota first (a quota lowered since): audited evictions
        evictions = (
            [] if args.dry_run else vault.cache.enforce(vault.repositories.list(SYSTEM), SYSTEM)
        )
        report = vault.gc.collect(SYSTEM, dry_run=args.dry_run, grace_seconds=grace)
    finally:
        vault.close()
    if args.json:
        out = {**report.to_json(), "cache_evictions": [e.to_json() for e in evictions]}
        print(json.dumps(out, indent=1))
    else:
        for e in evictions:
            if e.evicted:
                print(f"evicted {e.evicted} file(s), {_human(e.bytes)}, from {e.repository}")
        verb = "would delete" if report.dry_run else "deleted"
        print(f"{verb} {report.collected} blob(s), {_human(report.bytes)}")
        xet = report.xet
        if xet.files or xet.xorbs:
            print(f"Xet: {verb} {xet.files} file(s), {xet.xorbs} xorb(s), {_human(xet.xorb_bytes)}")
    return 0
