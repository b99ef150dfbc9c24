"""How ``torch.load`` finds the records of its zip format (``PyTorchFileReader``).

The reader (caffe2/serialize/inline_container.cc on miniz) takes the archive folder from the
*first* central-directory entry (everything before its first ``/``) and looks every record up
as ``<folder>/<record>`` with miniz's default, case-insensitive (ASCII) name comparison: a member
named ``Archive/DATA.PKL`` is torch's ``data.pkl``. The scanner must route members by that rule,
not by its own reading of the names.
"""

from __future__ import annotations

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def record_key(name: str) -> str:
    """A member name as miniz compares it (``MZ_TOLOWER``: ASCII letters only)."""
    return name.translate(_ASCII_LOWER)


def torch_archive_prefix(central_names: list[str]) -> str | None:
    """``<folder>/`` torch resolves records under; None when torch rejects the archive (no entry,
    or the first entry is not in a folder)."""
    if not central_names or "/" not in central_names[0]:
        return None
    return central_names[0].split("/", 1)[0] + "/"


def is_torch_record(name: str, prefix: str, record: str) -> bool:
    return record_key(name) == record_key(prefix + record)


def is_torch_pickle(name: str, prefix: str) -> bool:
    """A member torch (or torch.jit) unpickles: ``data.pkl``, ``constants.pkl``, any ``.pkl``."""
    return record_key(name).endswith(".pkl") and record_key(name).startswith(record_key(prefix))
