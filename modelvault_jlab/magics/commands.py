"""The ``%modelvault`` subcommands: argv → one function → a display object.

Each talks to the server through :class:`~modelvault_jlab.magics.client.VaultClient` only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
from collections.abc import Callable
from typing import Any

from .client import (
    Connection,
    VaultClient,
    VaultClientError,
    connection_from_env,
    split_repo,
)
from .display import Note, Table, human_size
from .page_link import page_ref
from .release import cmd_bundle, cmd_lock, cmd_offline
from .session import Result, UsageError, _client
from .widgets import waiver_form

VARIABLES = (
    "MODELVAULT_URL",
    "MODELVAULT_TOKEN",
    "HF_ENDPOINT",
    "HF_TOKEN",
    "HF_HUB_DISABLE_XET",
    "HF_HUB_DOWNLOAD_TIMEOUT",
    "HF_HUB_ETAG_TIMEOUT",
    "PIP_INDEX_URL",
    "UV_INDEX_URL",
    "PIP_DEFAULT_TIMEOUT",
    "UV_HTTP_TIMEOUT",
)
_SECRET_IN_URL = re.compile(r"(//[^:/@]+:)[^@]+@")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(f"{message}\n{self.format_usage().strip()}")

    def exit(self, status: int = 0, message: str | None = None) -> Any:  # type: ignore[override]
        raise UsageError(message or self.format_help())


def masked(name: str, value: str) -> str:
    if name in ("HF_TOKEN", "MODELVAULT_TOKEN"):
        return value[:16] + "…" if len(value) > 16 else "***"
    return _SECRET_IN_URL.sub(r"\1***@", value)


def hub_import_warning() -> str | None:
    """huggingface_hub reads HF_ENDPOINT once, at import: warn when it was imported before the
    environment pointed at the vault (it would then talk to another Hub)."""
    constants = sys.modules.get("huggingface_hub.constants")
    wanted = os.environ.get("HF_ENDPOINT", "").rstrip("/")
    actual = getattr(constants, "ENDPOINT", None) if constants is not None else None
    if actual is None or not wanted or actual.rstrip("/") == wanted:
        return None
    return (
        f"huggingface_hub was imported before HF_ENDPOINT pointed at the vault: it still uses "
        f"{actual}. Restart the kernel (and run `%modelvault setup` before importing it), or pass "
        f"endpoint='{wanted}' explicitly."
    )


# -- subcommands ------------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> Result:
    table = Table("ModelVault status", ("variable", "value"))
    for name in VARIABLES:
        value = os.environ.get(name)
        table.rows.append((name, masked(name, value) if value else "(not set)"))
    try:
        conn = connection_from_env()
    except VaultClientError as exc:
        return table.note(str(exc), "warning")
    table.note(f"server: {conn.base_url}   Hub endpoint: {conn.hf_endpoint}")
    client = VaultClient(conn, timeout=15)
    try:
        info = client.whoami()
        user = info.get("user") or {}
        table.note(
            f"signed in as {user.get('name')} (scope {user.get('scope')}"
            f"{', admin' if user.get('admin') else ''}); ModelVault {info.get('version')}",
            "ok",
        )
        table.data = {"server": conn.base_url, "user": user, "version": info.get("version")}
    except VaultClientError as exc:
        table.note(str(exc), "error")
    finally:
        client.close()
    warning = hub_import_warning()
    if warning:
        table.note(warning, "warning")
    return table


def cmd_setup(args: argparse.Namespace) -> Result:
    url = args.url.rstrip("/") + "/"
    if "/modelvault/hf/" in url:
        url = url.split("modelvault/hf/")[0]
    client = VaultClient(Connection(url, args.token, args.repo), timeout=15)
    try:
        info = client.whoami()
    finally:
        client.close()
    env = {
        "MODELVAULT_URL": url,
        "MODELVAULT_TOKEN": args.token,
        "HF_ENDPOINT": f"{url}modelvault/hf/{args.repo}",
        "HF_TOKEN": args.token,
        "HF_HUB_DOWNLOAD_TIMEOUT": "120",
        "HF_HUB_ETAG_TIMEOUT": "60",
        "PIP_DEFAULT_TIMEOUT": "120",
    }
    if args.pypi:
        index = f"{url}modelvault/pypi/{args.pypi}/simple/".replace(
            "://", f"://__token__:{args.token}@", 1
        )
        env.update(PIP_INDEX_URL=index, UV_INDEX_URL=index)
    os.environ.update(env)
    user = info.get("user") or {}
    table = Table("ModelVault set up for this kernel", ("variable", "value"))
    table.rows = [(k, masked(k, v)) for k, v in env.items()]
    table.note(f"signed in as {user.get('name')} (scope {user.get('scope')})", "ok")
    warning = hub_import_warning()
    if warning:
        table.note(warning, "warning")
    return table


def cmd_repos(args: argparse.Namespace) -> Result:
    with _client() as client:
        repos = client.repositories()
    table = Table("ModelVault repositories", ("key", "kind", "public", "endpoint", "description"))
    for r in repos:
        endpoint = r.get("hub_endpoint") or r.get("index_url") or ""
        table.rows.append(
            (
                r["key"],
                r["kind"],
                "yes" if r.get("public") else "",
                endpoint,
                r.get("description") or "",
            )
        )
    table.data = repos
    if not repos:
        table.note("No repository is visible to this token.")
    return table


def cmd_ls(args: argparse.Namespace) -> Result:
    with _client() as client:
        key, repo_id = split_repo(args.repo, client.connection.hf_repository)
        listing = client.repo_files(key, repo_id, args.revision)
    return _files_table(f"{key}:{repo_id}", listing)


def _files_table(name: str, listing: dict[str, Any]) -> Table:
    table = Table(
        f"{name} @ {listing.get('revision')} ({listing.get('commit')})",
        ("path", "size", "scan", "policy", "sha256"),
    )
    for f in listing.get("files", []):
        table.rows.append(
            (
                f["path"],
                human_size(f.get("size")),
                f.get("verdict") or "not scanned",
                f.get("status", ""),
                (f.get("sha256") or "")[:12],
            )
        )
    licence = listing.get("license")
    if licence is not None:
        table.note(f"licence: {licence or 'none declared'}")
    decision = listing.get("decision") or {}
    for v in decision.get("violations", []):
        table.note(
            f"{v['action']} by policy '{v['policy']}': {v['reason']}",
            "error" if v["action"] == "block" else "warning",
        )
    if listing.get("next"):
        table.note("(more files: only the first page is shown)")
    table.page = page_ref(listing)  # link to the model page (issue #19)
    table.data = listing
    return table


def cmd_scan(args: argparse.Namespace) -> Result:
    target = args.target
    with _client() as client:
        if _SHA256.match(target):
            record = client.scan(target)
            table = Table(
                f"Scan of {target[:12]}…: {record['verdict']}", ("severity", "scanner", "message")
            )
            for finding in (record.get("report") or {}).get("findings", []):
                table.rows.append(
                    (finding.get("severity"), finding.get("scanner"), finding.get("message"))
                )
            table.data = record
            return table
        key, spec = split_repo(target, client.connection.hf_repository)
        parts = spec.split("/")
        repo_id, path = "/".join(parts[:2]), "/".join(parts[2:])
        listing = client.repo_files(key, repo_id, args.revision)
    table = _files_table(f"Scan of {key}:{repo_id}", listing)
    if path:
        table.rows = [r for r in table.rows if r[0] == path]
        if not table.rows:
            table.note(f"No file {path!r} in {repo_id}.", "error")
    if any(r[2] == "not scanned" for r in table.rows):
        table.note("Files are scanned when first fetched through the vault.")
    return table


def cmd_why(args: argparse.Namespace) -> Result:
    with _client() as client:
        key, repo_id = split_repo(args.repo, client.connection.hf_repository)
        table = Table(f"Why is {key}:{repo_id} blocked?", ("source", "policy", "reason"))
        try:
            listing = client.repo_files(key, repo_id, args.revision)
        except VaultClientError as exc:
            if exc.status == 404:
                raise
            table.rows.append(("files API", "", str(exc)))
            listing = {}
        decision = listing.get("decision") or {}
        for v in decision.get("violations", []):
            table.rows.append(("repo decision", v["policy"], f"{v['action']}: {v['reason']}"))
        for f in listing.get("files", []):
            for v in f.get("violations", []):
                table.rows.append((f["path"], v["policy"], f"{v['action']}: {v['reason']}"))
        # The message the stock client shows, from the Hub endpoint itself.
        seen: set[str] = set()
        revision = listing.get("commit") or args.revision or "main"
        for f in listing.get("files", [])[:20]:
            r = client.head_file(key, repo_id, revision, f["path"])
            message = r.headers.get("x-error-message")
            if r.status_code == 403 and message and message not in seen:
                seen.add(message)
                table.rows.append((f"Hub endpoint ({f['path']})", "", message))
        for e in client.violations().get("events", []):
            if repo_id in (e.get("subject") or "") and e.get("action") == "policy.block":
                detail = e.get("detail") or {}
                table.rows.append(
                    (
                        "violations log",
                        detail.get("policy", ""),
                        detail.get("reason") or detail.get("message") or e.get("subject"),
                    )
                )
                break
    licence = listing.get("license")
    if listing:
        table.note(f"licence: {licence or 'none declared'}")
    if not table.rows:
        table.note("Nothing blocks it: no policy violation was found.", "ok")
    else:
        policies = sorted({str(r[1]) for r in table.rows if r[1]}) or ["NAME"]
        table.note(
            f"An admin can lift a block: %modelvault waive {args.repo} --policy {policies[0]} "
            "--reason '…'"
        )
        if policies != ["NAME"]:
            table.widget = waiver_form(args.repo, policies, run)
    table.data = {"listing": listing, "reasons": [list(r) for r in table.rows]}
    return table


def cmd_waive(args: argparse.Namespace) -> Result:
    with _client() as client:
        key, repo_id = split_repo(args.repo, client.connection.hf_repository)
        policy = args.policy
        if policy is None:
            decision = client.repo_files(key, repo_id).get("decision") or {}
            blocking = [
                v["policy"] for v in decision.get("violations", []) if v["action"] == "block"
            ]
            if not blocking:
                raise UsageError("Name the policy to waive: --policy NAME (see %modelvault why).")
            policy = blocking[0]
        body: dict[str, Any] = {
            "policy": policy,
            "repo_id": repo_id,
            "repository": key,
            "justification": args.reason,
            "expires_in_seconds": int(args.days * 86400),
        }
        if args.commit:
            body["commit"] = args.commit
        user = client.whoami().get("user") or {}
        if not user.get("admin"):
            table = Table(f"Waiver request for {key}:{repo_id}", ("field", "value"))
            table.rows = [(k, v) for k, v in body.items()]
            table.note(
                f"Your token ({user.get('name')}, scope {user.get('scope')}) cannot grant "
                "waivers: an admin must. Send them this request (POST /modelvault/api/waivers):",
                "warning",
            )
            table.note(json.dumps(body))
            table.data = {"granted": False, "request": body}
            return table
        waiver = client.grant_waiver(body)
    table = Table(f"Waiver {waiver['id']} granted", ("field", "value"))
    table.rows = [(k, v) for k, v in waiver.items() if v is not None]
    table.data = {"granted": True, "waiver": waiver}
    return table.note("Downloads blocked by this policy go through until it expires.", "ok")


# -- dispatch ----------------------------------------------------------------------------------


def build_parser() -> _Parser:
    parser = _Parser(prog="%modelvault", add_help=False, description="ModelVault in this kernel.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    sub.add_parser("status", help="endpoint, identity and variables")
    p = sub.add_parser("setup", help="point this kernel at a vault")
    p.add_argument("url")
    p.add_argument("token")
    p.add_argument("--repo", default="models", help="Hub repository for HF_ENDPOINT")
    p.add_argument("--pypi", default=None, help="PyPI repository for PIP_INDEX_URL")
    sub.add_parser("repos", help="repositories visible to this kernel")
    p = sub.add_parser("ls", help="files of a Hub repo with their scan and policy status")
    p.add_argument("repo", help="org/name or KEY:org/name")
    p.add_argument("revision", nargs="?")
    p = sub.add_parser("scan", help="scan report of a repo, a repo file or a sha256")
    p.add_argument("target")
    p.add_argument("--revision", default=None)
    p = sub.add_parser("why", help="why a repo is blocked")
    p.add_argument("repo")
    p.add_argument("--revision", default=None)
    p = sub.add_parser("waive", help="request (or, as admin, grant) a waiver")
    p.add_argument("repo")
    p.add_argument("--policy", default=None)
    p.add_argument("--reason", required=True)
    p.add_argument("--days", type=float, default=30.0)
    p.add_argument("--commit", default=None)
    p = sub.add_parser("lock", help="repos, commits and packages this kernel fetched")
    p.add_argument("-o", "--output", default=None)
    p = sub.add_parser("offline", help="offline preflight of the lock")
    p.add_argument("action", choices=["check"])
    p.add_argument("--lock", default=None, help="a lock file (default: this kernel's fetches)")
    p.add_argument("--warm", action="store_true", help="fetch what is missing")
    p.add_argument("--cache-dir", default=None, help="Hugging Face cache (default: HF_HOME)")
    p.add_argument("--wheelhouse", default="wheelhouse", help="folder for locked wheels")
    p = sub.add_parser("bundle", help="release bundles: list, show, create (from this lock)")
    p.add_argument("action", choices=["list", "show", "create"])
    p.add_argument("name", nargs="?")
    p.add_argument("version", nargs="?")
    p.add_argument("--lock", default=None, help="create from a lock file (default: this kernel's)")
    return parser


COMMANDS: dict[str, Callable[[argparse.Namespace], Result]] = {
    "status": cmd_status,
    "setup": cmd_setup,
    "repos": cmd_repos,
    "ls": cmd_ls,
    "scan": cmd_scan,
    "why": cmd_why,
    "waive": cmd_waive,
    "lock": cmd_lock,
    "offline": cmd_offline,
    "bundle": cmd_bundle,
}


def run(line: str) -> Result:
    """Run one ``%modelvault`` line. Errors come back as a display object, never a traceback."""
    parser = build_parser()
    try:
        argv = shlex.split(line)
        if not argv or argv[0] in ("help", "-h", "--help"):
            return Table("usage", notes=[Note(parser.format_help())])
        args = parser.parse_args(argv)
        return COMMANDS[args.command](args)
    except UsageError as exc:
        return Table("%modelvault: usage error").note(str(exc), "error")
    except (VaultClientError, ValueError, OSError) as exc:
        return Table(f"%modelvault {line.split()[0] if line.split() else ''}: failed").note(
            str(exc), "error"
        )
