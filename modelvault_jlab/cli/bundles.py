"""``modelvault bundle …``: release bundles from the shell.

Like the other admin commands, these open the vault's storage directly (``--data-dir``; SQLite WAL
lets them run beside a server) and act as the operator (admin). ``bundle verify ARCHIVE`` needs no
vault at all: it checks an exported archive offline against a public key (``--key`` /
``--key-file``, or the keys a vault trusts with ``--data-dir``).

Exit codes: 0 success, 1 verification failed or policy refused the bundle, 2 other errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import IntegrityError, PolicyError, VaultError
from ._common import open_vault_from_args

CHUNK = 1 << 20


def register(subparsers: Any) -> None:
    """Add the ``bundle`` command (with its subcommands) to an argparse ``subparsers`` object."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="vault folder (default: $MODELVAULT_DATA_DIR)")
    common.add_argument("--config", help="a jupyter_modelvault_config.py-style file")
    common.add_argument("--user", default="admin", help="who the audit log names (default admin)")
    common.add_argument("--json", action="store_true", help="print JSON")
    top = subparsers.add_parser(
        "bundle",
        help="release bundles: create, promote, export, import, verify, bom",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = top.add_subparsers(dest="bundle_action", required=True)

    p = sub.add_parser("create", parents=[common], help="pin, gate, sign and seal a bundle")
    p.add_argument("name")
    p.add_argument("version")
    p.add_argument("--description", default="")
    p.add_argument("--model", action="append", default=[], metavar="REPOSITORY:ORG/NAME[@REV]")
    p.add_argument("--dataset", action="append", default=[], metavar="REPOSITORY:ORG/NAME[@REV]")
    p.add_argument("--package", action="append", default=[], metavar="REPOSITORY:NAME==VERSION")
    p.add_argument("--file", action="append", default=[], metavar="NAME", help="a generic file")
    p.set_defaults(func=cmd_create)

    p = sub.add_parser("show", parents=[common])
    p.add_argument("name")
    p.add_argument("version")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("list", parents=[common])
    p.add_argument("--name")
    p.add_argument("--environment", help="only bundles currently in this environment")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("promote", parents=[common], help="to the next environment")
    p.add_argument("name")
    p.add_argument("version")
    p.add_argument("--to", required=True, metavar="ENVIRONMENT")
    p.set_defaults(func=cmd_promote)

    p = sub.add_parser(
        "verify", parents=[common], help="verify ARCHIVE offline, or NAME VERSION in the vault"
    )
    p.add_argument("target", nargs="+", metavar="ARCHIVE | NAME VERSION")
    p.add_argument("--key", action="append", default=[], help="trusted public key (base64)")
    p.add_argument("--key-file", action="append", default=[], help="file holding a public key")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("export", parents=[common], help="write the bundle archive (tar)")
    p.add_argument("name")
    p.add_argument("version")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", parents=[common], help="verify and publish an archive")
    p.add_argument("archive")
    p.add_argument("--hub-repository", help="target hf-local repository for Hub repos")
    p.add_argument("--pypi-repository", help="target pypi-local repository for packages")
    p.add_argument("--key", help="the exporter's public key (else it must be trusted)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("bom", parents=[common], help="CycloneDX 1.6 AI bill of materials")
    p.add_argument("name")
    p.add_argument("version")
    p.add_argument("-o", "--output")
    p.set_defaults(func=cmd_bom)

    p = sub.add_parser("put-file", parents=[common], help="upload a generic file")
    p.add_argument("name")
    p.add_argument("path")
    p.set_defaults(func=cmd_put_file)

    p = sub.add_parser("keys", parents=[common], help="list signing and trusted public keys")
    p.set_defaults(func=cmd_keys)
    p = sub.add_parser("rotate-key", parents=[common], help="new active signing key")
    p.set_defaults(func=cmd_rotate)
    p = sub.add_parser("trust", parents=[common], help="trust another vault's public key")
    p.add_argument("public_key")
    p.set_defaults(func=cmd_trust)


def _vault(args: argparse.Namespace) -> Any:
    return open_vault_from_args(args)


def _who(args: argparse.Namespace) -> Any:
    from ..core.identity import Principal

    return Principal(name=args.user, scope="admin", kind="system")


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=1) if args.json else text)


def _split_repo(value: str) -> tuple[str, str]:
    repository, sep, rest = value.partition(":")
    if not sep or not repository or not rest:
        raise VaultError(f"Expected REPOSITORY:VALUE, got {value[:80]!r}.")
    return repository, rest


def cmd_create(args: argparse.Namespace) -> int:
    components: list[dict[str, Any]] = []
    for kind, values in (("model", args.model), ("dataset", args.dataset)):
        for value in values:
            repository, rest = _split_repo(value)
            repo_id, _, rev = rest.partition("@")
            components.append(
                {
                    "kind": "hub",
                    "repository": repository,
                    "repo_type": kind,
                    "repo_id": repo_id,
                    "revision": rev or None,
                }
            )
    for value in args.package:
        repository, rest = _split_repo(value)
        name, _, version = rest.partition("==")
        components.append(
            {"kind": "package", "repository": repository, "name": name, "version": version}
        )
    components += [{"kind": "file", "name": n} for n in args.file]
    vault = _vault(args)
    spec = {
        "name": args.name,
        "version": args.version,
        "description": args.description,
        "components": components,
    }
    try:
        view = asyncio.run(vault.bundles.create(_who(args), spec))
    except PolicyError as exc:
        print(f"modelvault: bundle refused: {exc.message}", file=sys.stderr)
        for v in exc.details.get("violations", []):
            print(f"  - {v['message']}", file=sys.stderr)
        return 1
    _print(args, view.to_json(), f"{view.record.name} {view.record.version} {view.record.digest}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    view = _vault(args).bundles.get(_who(args), args.name, args.version)
    data = view.to_json()
    lines = [
        f"{view.record.name} {view.record.version}  digest {view.record.digest}",
        f"created by {view.record.created_by}  origin {view.record.origin}  "
        f"environment {view.environment or '-'}",
    ]
    for c in data["manifest"]["components"]:
        if c["kind"] == "hub":
            lines.append(f"  {c['repo_type']} {c['repository']}/{c['repo_id']}@{c['commit']}")
        elif c["kind"] == "package":
            lines.append(f"  package {c['filename']} sha256:{c['sha256']}")
        else:
            lines.append(f"  file {c['name']} sha256:{c['sha256']}")
    _print(args, data, "\n".join(lines))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    views = _vault(args).bundles.list_bundles(_who(args), args.name, args.environment)
    data = [
        {"name": v.record.name, "version": v.record.version, "environment": v.environment}
        for v in views
    ]
    text = "\n".join(f"{d['name']:30} {d['version']:16} {d['environment'] or '-'}" for d in data)
    _print(args, data, text)
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    view = _vault(args).bundles.promote(_who(args), args.name, args.version, args.to)
    _print(args, view.to_json(), f"{args.name} {args.version} -> {view.environment}")
    return 0


def _keys_from_args(args: argparse.Namespace) -> dict[str, bytes]:
    from ..core.bundles.signing import decode_public_key, key_id_of

    texts = list(args.key) + [Path(p).read_text() for p in args.key_file]
    raws = [decode_public_key(t) for t in texts]
    return {key_id_of(r): r for r in raws}


def cmd_verify(args: argparse.Namespace) -> int:
    from ..core.bundles.verify import verify_archive

    try:
        if len(args.target) == 1:
            keys = _keys_from_args(args)
            if args.data_dir:
                keys = {**_vault(args).bundles.keys.trusted_keys(), **keys}
            if not keys:
                print("modelvault: error: pass --key/--key-file (or --data-dir)", file=sys.stderr)
                return 2
            report = verify_archive(args.target[0], keys)
        elif len(args.target) == 2:
            report = _vault(args).bundles.verify(_who(args), *args.target)
        else:
            print("modelvault: error: expected ARCHIVE or NAME VERSION", file=sys.stderr)
            return 2
    except IntegrityError as exc:
        print(f"modelvault: verification FAILED: {exc.message}", file=sys.stderr)
        return 1
    _print(args, report, f"OK {report['name']} {report['version']} ({report['digest']})")
    return 0 if report.get("ok") else 1


def cmd_export(args: argparse.Namespace) -> int:
    from ..core.bundles.transfer import export_archive

    vault = _vault(args)
    chunks = export_archive(vault.bundles, _who(args), args.name, args.version).chunks
    out = Path(args.output)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        with tmp.open("wb") as f:
            for chunk in chunks:
                f.write(chunk)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    print(str(out))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from ..core.bundles.transfer import begin_import

    vault = _vault(args)
    session = begin_import(
        vault.bundles, _who(args), args.hub_repository, args.pypi_repository, args.key
    )
    try:
        with open(args.archive, "rb") as f:
            while chunk := f.read(CHUNK):
                session.feed(chunk)
        view = session.finish()
    except BaseException:
        session.abort()
        raise
    _print(args, view.to_json(), f"imported {view.record.name} {view.record.version}")
    return 0


def cmd_bom(args: argparse.Namespace) -> int:
    from ..core.bundles.bom import bundle_bom

    view = _vault(args).bundles.get(_who(args), args.name, args.version)
    text = json.dumps(bundle_bom(view.manifest, view.record.digest), indent=1)
    if args.output:
        Path(args.output).write_text(text)
    else:
        print(text)
    return 0


def cmd_put_file(args: argparse.Namespace) -> int:
    vault = _vault(args)
    writer = vault.bundles.begin_file(_who(args), args.name)
    try:
        with open(args.path, "rb") as f:
            while chunk := f.read(CHUNK):
                writer.write(chunk)
        record = vault.bundles.finish_file(_who(args), args.name, writer)
    finally:
        writer.abort()
    _print(args, {"name": record.name, "sha256": record.sha256}, record.sha256)
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    data = _vault(args).bundles.public_keys()
    text = "\n".join(
        f"{k['key_id']}  {'own' if k['own'] else 'trusted'}{' active' if k['active'] else ''}  "
        f"{k['public_key']}"
        for k in data["keys"]
    )
    _print(args, data, text)
    return 0


def cmd_rotate(args: argparse.Namespace) -> int:
    vault = _vault(args)
    key_id = vault.bundles.keys.rotate()
    vault.audit.record(_who(args), "bundle.key.rotate", subject=key_id, via="cli")
    print(key_id)
    return 0


def cmd_trust(args: argparse.Namespace) -> int:
    vault = _vault(args)
    key_id = vault.bundles.keys.trust(args.public_key)
    vault.audit.record(_who(args), "bundle.key.trust", subject=key_id, via="cli")
    print(key_id)
    return 0
