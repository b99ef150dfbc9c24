"""The one route table: every ModelVault URL, for the Jupyter extension and the standalone server.

Patterns are relative to the server's base_url. Tornado matches them against the *raw* path and
decodes only the captured groups, so a revision such as ``refs%2Fpr%2F1`` stays one segment.
"""

from __future__ import annotations

from typing import Any

from tornado.web import RequestHandler

from . import metrics, openapi, pypi
from .api import (
    activity,
    audit,
    bundles,
    dashboard,
    files,
    governance,
    hub_files,
    info,
    lineage,
    model_page,
    packages,
    repositories,
    tokens,
)
from .api import permissions as permissions_api
from .api import usage as usage_api
from .api.base import ApiHandler
from .hf import account, commits, compat, lfs, refs, repos, resolve, tree
from .xet import read as xet_read
from .xet import write as xet_write

_KEY = r"([a-z0-9][a-z0-9._-]{0,62})"
_SEG = r"([^/]+)"
_TYPES = r"(models|datasets|spaces)"
_PREFIX = r"(?:(datasets|spaces)/)?"
HF = rf"modelvault/hf/{_KEY}"
REPO_API = rf"{HF}/api/{_TYPES}/{_SEG}/{_SEG}"
PYPI = rf"modelvault/pypi/{_KEY}"
BUNDLE = r"modelvault/api/bundles/([a-z0-9][a-z0-9._-]{0,63})/([A-Za-z0-9][A-Za-z0-9._-]{0,63})"

ROUTES: list[tuple[str, type[RequestHandler]]] = [
    # -- Xet: write token and CAS uploads (web/xet/; before compat's xet-token refusal) --
    *xet_write.routes(HF, REPO_API, _SEG),
    # -- Hugging Face Hub --
    (rf"{HF}/api/repos/create", repos.CreateRepoHandler),
    (rf"{HF}/api/repos/delete", repos.DeleteRepoHandler),
    (rf"{HF}/api/whoami-v2", account.WhoAmIHandler),
    (rf"{HF}/api/validate-yaml", compat.ValidateYamlHandler),
    (rf"{HF}/api/agent-harnesses", compat.AgentHarnessesHandler),
    (rf"{HF}/api/{_TYPES}", repos.RepoListHandler),
    (rf"{REPO_API}(?:/revision/{_SEG})?", repos.RepoInfoHandler),
    (rf"{REPO_API}/tree/{_SEG}(?:/(.+))?", tree.TreeHandler),
    (rf"{REPO_API}/paths-info/{_SEG}", tree.PathsInfoHandler),
    (rf"{REPO_API}/refs", refs.RefsHandler),
    (rf"{REPO_API}/commits/{_SEG}", commits.CommitsHandler),
    (rf"{REPO_API}/preupload/{_SEG}", commits.PreuploadHandler),
    (rf"{REPO_API}/commit/{_SEG}", commits.CommitHandler),
    (rf"{REPO_API}/branch/{_SEG}", refs.BranchHandler),
    (rf"{REPO_API}/tag/{_SEG}", refs.TagHandler),
    (rf"{REPO_API}/settings", repos.RepoSettingsHandler),
    (rf"{REPO_API}/discussions(?:/(\d+))?", compat.DiscussionsHandler),
    (rf"{REPO_API}/xet-read-token/{_SEG}", xet_read.ReadTokenHandler),
    (rf"{HF}/cas/v([12])/reconstructions/([0-9a-f]{{64}})", xet_read.ReconstructionHandler),
    (rf"{HF}/cas/fetch/([0-9a-f]{{64}})", xet_read.FetchHandler),
    (rf"{REPO_API}/xet-(?:read|write)-token(?:/.*)?", compat.XetTokenHandler),
    (rf"{HF}/{_PREFIX}{_SEG}/{_SEG}\.git/info/lfs/objects/batch", lfs.LfsBatchHandler),
    (rf"{HF}/{_PREFIX}{_SEG}/{_SEG}\.git/info/lfs/objects/verify", lfs.LfsVerifyHandler),
    (
        rf"{HF}/lfs-objects/([0-9a-f]{{64}})/(\d{{1,20}})(?:/part/(\d{{1,6}})|/complete)?",
        lfs.LfsObjectHandler,
    ),
    (rf"{HF}/{_PREFIX}{_SEG}/{_SEG}/resolve/{_SEG}/(.+)", resolve.ResolveHandler),
    # -- JSON API (described in openapi.yaml) --
    (r"modelvault/api/openapi\.json", openapi.OpenApiHandler),
    (r"modelvault/api/info", info.InfoHandler),
    (r"modelvault/api/repositories", repositories.RepositoriesHandler),
    (rf"modelvault/api/repositories/{_KEY}", repositories.RepositoryHandler),
    (rf"modelvault/api/repositories/{_KEY}/hub", repositories.HubReposHandler),
    (r"modelvault/api/tokens", tokens.TokensHandler),
    (r"modelvault/api/tokens/([0-9a-f]{1,32})", tokens.TokenHandler),
    (r"modelvault/api/audit", audit.AuditHandler),
    (r"modelvault/api/policies", governance.PoliciesHandler),
    (r"modelvault/api/policies/preview", governance.PolicyPreviewHandler),
    (r"modelvault/api/waivers", governance.WaiversHandler),
    (r"modelvault/api/waivers/(\d{1,12})", governance.WaiverHandler),
    (r"modelvault/api/scans/([0-9a-f]{64})", governance.ScanHandler),
    (r"modelvault/api/violations", governance.ViolationsHandler),
    (r"modelvault/api/usage", usage_api.UsageHandler),
    # -- release bundles --
    (r"modelvault/api/bundles", bundles.BundlesHandler),
    (r"modelvault/api/bundles/import", bundles.BundleImportHandler),
    (rf"{BUNDLE}", bundles.BundleHandler),
    (rf"{BUNDLE}/promote", bundles.BundlePromoteHandler),
    (rf"{BUNDLE}/verify", bundles.BundleVerifyHandler),
    (rf"{BUNDLE}/archive", bundles.BundleArchiveHandler),
    (rf"{BUNDLE}/bom", bundles.BundleBomHandler),
    (r"modelvault/api/bundle-keys", bundles.BundleKeysHandler),
    (r"modelvault/api/files", files.FilesHandler),
    (r"modelvault/api/files/([A-Za-z0-9][A-Za-z0-9._-]{0,199})", files.FileHandler),
    (r"modelvault/api/lineage", lineage.LineageHandler),
    (r"modelvault/api/activity", activity.ActivityHandler),
    (r"modelvault/api/dashboard", dashboard.DashboardHandler),
    (rf"modelvault/api/repositories/{_KEY}/packages", packages.PackageProjectsHandler),
    (rf"modelvault/api/repositories/{_KEY}/packages/{_SEG}", packages.PackageFilesHandler),
    # -- PyPI (Simple API, PEP 658 metadata, legacy upload) --
    (rf"{PYPI}/simple", pypi.SimpleIndexHandler),
    (rf"{PYPI}/simple/{_SEG}", pypi.SimpleProjectHandler),
    (rf"{PYPI}/files/([0-9a-f]{{64}})/([^/]+)\.metadata", pypi.MetadataHandler),
    (rf"{PYPI}/files/([0-9a-f]{{64}})/([^/]+)", pypi.FileHandler),
    (rf"{PYPI}(?:/legacy)?", pypi.UploadHandler),
    # -- monitoring (web/metrics.py) --
    (r"modelvault/metrics", metrics.MetricsHandler),
    (r"modelvault/health/live", metrics.LiveHandler),
    (r"modelvault/health/ready", metrics.ReadyHandler),
    # -- JSON API: browsing (sidebar) --
    (
        rf"modelvault/api/repositories/{_KEY}/hub/{_TYPES}/{_SEG}/{_SEG}/files",
        hub_files.HubFilesHandler,
    ),
    # -- JSON API: permission targets and groups (admin) --
    *permissions_api.ROUTES,
    (
        rf"modelvault/api/repositories/{_KEY}/hub/{_TYPES}/{_SEG}/{_SEG}/overview",
        model_page.HubOverviewHandler,
    ),
]


def route_table(
    kwargs: dict[str, Any], wrap_api: Any = None
) -> list[tuple[str, type[RequestHandler], dict[str, Any]]]:
    """Routes with their handler kwargs; ``wrap_api`` adapts API handlers to the host (Jupyter)."""
    table = []
    for pattern, handler in ROUTES:
        if wrap_api is not None and issubclass(handler, ApiHandler):
            handler = wrap_api(handler)
        table.append(
            (pattern + "/?$" if not pattern.endswith("(.+)") else pattern + "$", handler, kwargs)
        )
    return table
