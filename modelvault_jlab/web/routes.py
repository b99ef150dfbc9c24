"""The one route table: every ModelVault URL, for the Jupyter extension and the standalone server.

Patterns are relative to the server's base_url. Tornado matches them against the *raw* path and
decodes only the captured groups, so a revision such as ``refs%2Fpr%2F1`` stays one segment.
"""

from __future__ import annotations

from typing import Any

from tornado.web import RequestHandler

from . import activity, api, api_browse, bundles, hf, hf_lfs, hf_write, lineage, openapi, pypi
from .api_model_page import HubOverviewHandler  # the model page (issue #19)

_KEY = r"([a-z0-9][a-z0-9._-]{0,62})"
_SEG = r"([^/]+)"
_TYPES = r"(models|datasets|spaces)"
_PREFIX = r"(?:(datasets|spaces)/)?"
HF = rf"modelvault/hf/{_KEY}"
REPO_API = rf"{HF}/api/{_TYPES}/{_SEG}/{_SEG}"
PYPI = rf"modelvault/pypi/{_KEY}"
BUNDLE = r"modelvault/api/bundles/([a-z0-9][a-z0-9._-]{0,63})/([A-Za-z0-9][A-Za-z0-9._-]{0,63})"

ROUTES: list[tuple[str, type[RequestHandler]]] = [
    # -- Hugging Face Hub --
    (rf"{HF}/api/repos/create", hf_write.CreateRepoHandler),
    (rf"{HF}/api/repos/delete", hf_write.DeleteRepoHandler),
    (rf"{HF}/api/whoami-v2", hf.WhoAmIHandler),
    (rf"{HF}/api/validate-yaml", hf.ValidateYamlHandler),
    (rf"{HF}/api/agent-harnesses", hf.AgentHarnessesHandler),
    (rf"{HF}/api/{_TYPES}", hf.RepoListHandler),
    (rf"{REPO_API}(?:/revision/{_SEG})?", hf.RepoInfoHandler),
    (rf"{REPO_API}/tree/{_SEG}(?:/(.+))?", hf.TreeHandler),
    (rf"{REPO_API}/paths-info/{_SEG}", hf.PathsInfoHandler),
    (rf"{REPO_API}/refs", hf.RefsHandler),
    (rf"{REPO_API}/commits/{_SEG}", hf.CommitsHandler),
    (rf"{REPO_API}/preupload/{_SEG}", hf_write.PreuploadHandler),
    (rf"{REPO_API}/commit/{_SEG}", hf_write.CommitHandler),
    (rf"{REPO_API}/branch/{_SEG}", hf_write.BranchHandler),
    (rf"{REPO_API}/tag/{_SEG}", hf_write.TagHandler),
    (rf"{REPO_API}/settings", hf_write.RepoSettingsHandler),
    (rf"{REPO_API}/discussions(?:/(\d+))?", hf.DiscussionsHandler),
    (rf"{REPO_API}/xet-(?:read|write)-token(?:/.*)?", hf.XetTokenHandler),
    (rf"{HF}/{_PREFIX}{_SEG}/{_SEG}\.git/info/lfs/objects/batch", hf_lfs.LfsBatchHandler),
    (rf"{HF}/{_PREFIX}{_SEG}/{_SEG}\.git/info/lfs/objects/verify", hf_lfs.LfsVerifyHandler),
    (
        rf"{HF}/lfs-objects/([0-9a-f]{{64}})/(\d{{1,20}})(?:/part/(\d{{1,6}})|/complete)?",
        hf_lfs.LfsObjectHandler,
    ),
    (rf"{HF}/{_PREFIX}{_SEG}/{_SEG}/resolve/{_SEG}/(.+)", hf.ResolveHandler),
    # -- JSON API (described in openapi.yaml) --
    (r"modelvault/api/openapi\.json", openapi.OpenApiHandler),
    (r"modelvault/api/info", api.InfoHandler),
    (r"modelvault/api/repositories", api.RepositoriesHandler),
    (rf"modelvault/api/repositories/{_KEY}", api.RepositoryHandler),
    (rf"modelvault/api/repositories/{_KEY}/hub", api.HubReposHandler),
    (r"modelvault/api/tokens", api.TokensHandler),
    (r"modelvault/api/tokens/([0-9a-f]{1,32})", api.TokenHandler),
    (r"modelvault/api/audit", api.AuditHandler),
    (r"modelvault/api/policies", api.PoliciesHandler),
    (r"modelvault/api/waivers", api.WaiversHandler),
    (r"modelvault/api/waivers/(\d{1,12})", api.WaiverHandler),
    (r"modelvault/api/scans/([0-9a-f]{64})", api.ScanHandler),
    (r"modelvault/api/violations", api.ViolationsHandler),
    # -- release bundles --
    (r"modelvault/api/bundles", bundles.BundlesHandler),
    (r"modelvault/api/bundles/import", bundles.BundleImportHandler),
    (rf"{BUNDLE}", bundles.BundleHandler),
    (rf"{BUNDLE}/promote", bundles.BundlePromoteHandler),
    (rf"{BUNDLE}/verify", bundles.BundleVerifyHandler),
    (rf"{BUNDLE}/archive", bundles.BundleArchiveHandler),
    (rf"{BUNDLE}/bom", bundles.BundleBomHandler),
    (r"modelvault/api/bundle-keys", bundles.BundleKeysHandler),
    (r"modelvault/api/files", bundles.FilesHandler),
    (r"modelvault/api/files/([A-Za-z0-9][A-Za-z0-9._-]{0,199})", bundles.FileHandler),
    (r"modelvault/api/lineage", lineage.LineageHandler),
    (r"modelvault/api/activity", activity.ActivityHandler),
    (rf"modelvault/api/repositories/{_KEY}/packages", bundles.PackageProjectsHandler),
    (rf"modelvault/api/repositories/{_KEY}/packages/{_SEG}", bundles.PackageFilesHandler),
    # -- PyPI (Simple API, PEP 658 metadata, legacy upload) --
    (rf"{PYPI}/simple", pypi.SimpleIndexHandler),
    (rf"{PYPI}/simple/{_SEG}", pypi.SimpleProjectHandler),
    (rf"{PYPI}/files/([0-9a-f]{{64}})/([^/]+)\.metadata", pypi.MetadataHandler),
    (rf"{PYPI}/files/([0-9a-f]{{64}})/([^/]+)", pypi.FileHandler),
    (rf"{PYPI}(?:/legacy)?", pypi.UploadHandler),
    # -- JSON API: browsing (sidebar) --
    (
        rf"modelvault/api/repositories/{_KEY}/hub/{_TYPES}/{_SEG}/{_SEG}/files",
        api_browse.HubFilesHandler,
    ),
    (
        rf"modelvault/api/repositories/{_KEY}/hub/{_TYPES}/{_SEG}/{_SEG}/overview",
        HubOverviewHandler,
    ),
]


def route_table(
    kwargs: dict[str, Any], wrap_api: Any = None
) -> list[tuple[str, type[RequestHandler], dict[str, Any]]]:
    """Routes with their handler kwargs; ``wrap_api`` adapts API handlers to the host (Jupyter)."""
    table = []
    for pattern, handler in ROUTES:
        if wrap_api is not None and issubclass(handler, api.ApiHandler):
            handler = wrap_api(handler)
        table.append(
            (pattern + "/?$" if not pattern.endswith("(.+)") else pattern + "$", handler, kwargs)
        )
    return table
