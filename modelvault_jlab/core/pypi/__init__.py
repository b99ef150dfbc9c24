"""The PyPI side of ModelVault: pypi-local, pypi-remote and pypi-virtual repositories."""

from __future__ import annotations

from .remote import PypiOptions
from .service import PypiService

__all__ = ["PypiOptions", "PypiService"]
