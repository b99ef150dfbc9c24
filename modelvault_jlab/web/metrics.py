"""Monitoring routes: Prometheus metrics, liveness and readiness; and the request counter.

``GET modelvault/metrics`` (and ``/metrics`` on the standalone server) answers the vault's own
registry (``core/metrics.py``) in Prometheus' text format. It is not public: its labels name the
remote repositories and its counters show who uses what, so it takes an admin token or the
dedicated scrape token (``VaultSettings.metrics_token``): Prometheus then holds a secret that can
read metrics and nothing else, instead of an admin token.

``modelvault/health/live`` and ``modelvault/health/ready`` are public (load balancers and
orchestrators probe without credentials) and say nothing beyond which part failed.

Requests are counted from the access log hook (:func:`counting`), once each answer is complete,
by *route family* (a fixed list below, never the path: label values must stay bounded).
"""

from __future__ import annotations

import json

from prometheus_client import CONTENT_TYPE_LATEST
from tornado import web

from ..core.identity import ANONYMOUS
from ..core.metrics import VaultMetrics
from ..protocols.content_length import declared_length
from .access_log import LogFunction
from .base import VaultHandler, vault_auth
from .body_ingest import declared_request_bytes

_MODULE_FAMILIES = {  # a module, or a package (web/hf/, web/api/) for every module in it
    "hf": "hf_api",
    "hf.lfs": "hf_lfs",
    "pypi": "pypi_simple",
    "api": "api",
    "api.bundles": "bundles",
    "openapi": "api",
    "metrics": "monitoring",
    "app": "unmatched",
    "xet": "xet_cas",
}
_HF_WRITES = (
    "CreateRepoHandler",
    "DeleteRepoHandler",
    "RepoSettingsHandler",
    "BranchHandler",
    "TagHandler",
    "PreuploadHandler",
    "CommitHandler",
)
_CLASS_FAMILIES = {
    ("hf.resolve", "ResolveHandler"): "hf_resolve",
    **{
        (module, name): "hf_write"
        for module in ("hf.repos", "hf.refs", "hf.commits")
        for name in _HF_WRITES
    },
    ("pypi", "FileHandler"): "pypi_file",
    ("pypi", "MetadataHandler"): "pypi_file",
    ("pypi", "UploadHandler"): "pypi_upload",
    ("xet.read", "ReconstructionHandler"): "xet_reconstruction",
    ("xet.read", "FetchHandler"): "xet_fetch",
}
_PACKAGE = "modelvault_jlab.web."
_families: dict[type, str | None] = {}


def family_of(handler: web.RequestHandler) -> str | None:
    """The route family of a handler; None for handlers that are not the vault's (Jupyter's)."""
    cls = type(handler)
    if cls not in _families:  # bounded by the number of handler classes
        family = None
        for base in cls.__mro__:  # Jupyter wraps API handlers in a class of its own
            if base.__module__.startswith(_PACKAGE):
                module = base.__module__[len(_PACKAGE) :]
                family = (
                    _CLASS_FAMILIES.get((module, base.__name__))
                    or _MODULE_FAMILIES.get(module)
                    or _MODULE_FAMILIES.get(module.split(".")[0], "other")
                )
                break
        _families[cls] = family
    return _families[cls]


def _length(value: str | None) -> int:
    return declared_length(value) or 0


def counting(metrics: VaultMetrics, inner: LogFunction) -> LogFunction:
    """Wrap an access log function so that each answered request is counted too.

    Bytes are the request's declared ``Content-Length`` and the answer's ``Content-Length``
    (every download sets it; a transfer cut short counts what was announced)."""

    def log(handler: web.RequestHandler) -> None:
        inner(handler)
        family = family_of(handler)
        if family is None:
            return
        request = handler.request
        status = handler.get_status()
        sent = 0
        if request.method != "HEAD":
            # tornado has no public view of the headers it sent
            sent = _length(handler._headers.get("Content-Length"))
        metrics.request_answered(
            family,
            status,
            request.request_time(),
            declared_request_bytes(request),
            sent,
        )

    return log


class MetricsHandler(VaultHandler):
    """``GET modelvault/metrics``: the vault's registry, for an admin token or the scrape token."""

    _scraper = False

    async def _authenticate(self) -> None:
        presented = self._presented_credential()
        if presented is not None and self.vault.metrics.is_scrape_token(presented):
            self._presented = presented
            self._scraper = True
            self.principal = ANONYMOUS
            return
        await super()._authenticate()

    @vault_auth
    def get(self) -> None:
        if not self._scraper:
            self.vault.access.require(self.principal, "admin", None)
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.set_header("Cache-Control", "no-store")
        self.finish(self.vault.metrics.exposition())


class LiveHandler(VaultHandler):
    """``GET modelvault/health/live``: 200 while the process answers."""

    @vault_auth
    def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.write_json({"status": "live"})


class ReadyHandler(VaultHandler):
    """``GET modelvault/health/ready``: 200 when the database and the blob store answer, else 503
    naming the failing part."""

    @vault_auth
    async def get(self) -> None:
        checks = await self.vault.readiness()
        failing = [c.part for c in checks if not c.ok]
        self.set_header("Cache-Control", "no-store")
        self.set_status(503 if failing else 200)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(
            json.dumps(
                {
                    "status": "unavailable" if failing else "ready",
                    "failing": failing,
                    "checks": [c.to_json() for c in checks],
                }
            )
        )
