"""``%modelvault`` line magics (``%load_ext modelvault_jlab``).

The magics talk to a running vault over HTTP (``client.py`` here); they never open its
storage. ``%modelvault help`` lists the subcommands.
"""

from __future__ import annotations

from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

from .commands import hub_import_warning, run


@magics_class
class ModelVaultMagics(Magics):
    @line_magic
    def modelvault(self, line: str) -> Any:
        """%modelvault status|setup|repos|ls|scan|why|waive|lock|offline … (help: usage)."""
        return run(line)


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(ModelVaultMagics)
    warning = hub_import_warning()
    if warning:
        print(f"WARNING: {warning}")


__all__ = ["ModelVaultMagics", "load_ipython_extension", "run"]
