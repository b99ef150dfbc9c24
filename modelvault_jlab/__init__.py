"""ModelVault: a governed model and package repository inside Jupyter.

Importing this package stays cheap (no tornado, jupyter_server, fickling or IPython): kernels load
it for the magics, and the server extension entry points import their modules lazily.
"""

from __future__ import annotations

from typing import Any

try:
    from ._version import __version__
except ImportError:  # a source checkout that was never built
    __version__ = "0.0.0.dev0"

__all__ = ["__version__"]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "modelvault-jlab"}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext modelvault_jlab``: the ``%modelvault`` magics (imported only now)."""
    from .magics import load_ipython_extension as load

    load(ipython)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .jupyter.extension import ModelVaultApp

    return [{"module": "modelvault_jlab", "app": ModelVaultApp}]
