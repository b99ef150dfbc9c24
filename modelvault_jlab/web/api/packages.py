"""The packages of a PyPI repository, for the sidebar (and bundle creation)."""

from __future__ import annotations

from ..base import vault_auth
from .base import ApiHandler


class PackageProjectsHandler(ApiHandler):
    """``GET repositories/{key}/packages``: projects of a pypi repository, for the bundle wizard."""

    @vault_auth
    def get(self, key: str) -> None:
        self.write_json({"projects": self.vault.bundles.package_projects(self.principal, key)})


class PackageFilesHandler(ApiHandler):
    """``GET repositories/{key}/packages/{project}``: its stored files (what a bundle can pin)."""

    @vault_auth
    def get(self, key: str, project: str) -> None:
        files = self.vault.bundles.package_files(self.principal, key, project)
        self.write_json(
            {
                "project": project,
                "files": [
                    {
                        "filename": f.filename,
                        "version": f.version,
                        "sha256": f.sha256,
                        "size": f.size,
                        "requires_python": f.requires_python,
                        "yanked": f.yanked,
                    }
                    for f in files
                ],
            }
        )
