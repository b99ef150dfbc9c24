"""Keras: ``.keras`` zips (``config.json``) and legacy HDF5 (``model_config`` attribute).

The configs found there are checked by :mod:`.keras_config` (and, for a zip's
``config.json``, as any model config by :mod:`.templates`); HDF5 attributes are read with h5py
(reading attributes deserialises nothing).
"""

from __future__ import annotations

from typing import Any

from .compressed import WindowIO, zip_member
from .context import Location, ScanContext
from .keras_config import check_keras_config, load_keras_json
from .models import Severity
from .stream import Window
from .templates import check_config
from .zipparse import ZipListing

MAX_H5_OBJECTS = 100_000


def scan_keras_zip_config(
    ctx: ScanContext, win: Window, listing: ZipListing, loc: Location
) -> None:
    """Every root ``config.json`` of a zip (Keras reads the last one; json.loads on the raw
    bytes, so UTF-16/32 too, which is why this does not wait for text detection)."""
    for entry in listing.entries:
        if entry.name != "config.json":
            continue
        child = loc.child(entry.name)
        if entry.usize > ctx.limits.max_json_bytes:
            ctx.add(
                Severity.ERROR, "keras-config-too-large", "config.json too large", child, "keras"
            )
            continue
        with zip_member(ctx, win, entry, child) as inner:
            if inner is None:
                continue
            raw = inner.read_at(0, min(inner.length, ctx.limits.max_json_bytes + 1))
            if len(raw) > ctx.limits.max_json_bytes:
                ctx.add(
                    Severity.ERROR,
                    "keras-config-too-large",
                    "config.json too large",
                    child,
                    "keras",
                )
                continue
            config = load_keras_json(ctx, raw, child, "keras")
            if isinstance(config, dict):
                check_config(ctx, config, child, "keras")


def scan_hdf5_keras(ctx: ScanContext, win: Window, loc: Location) -> str:
    try:
        import h5py
    except ImportError:
        ctx.add(
            Severity.ERROR,
            "hdf5-unsupported",
            "h5py is not installed: HDF5 (Keras) content not analysed",
            loc,
            "hdf5",
        )
        return "hdf5"
    try:
        with h5py.File(WindowIO(win), "r") as f:
            objects: list[Any] = [f]
            f.visititems(
                lambda _name, obj: objects.append(obj) if len(objects) <= MAX_H5_OBJECTS else None
            )
            if len(objects) > MAX_H5_OBJECTS:
                ctx.add(
                    Severity.ERROR,
                    "hdf5-too-many-objects",
                    f"more than {MAX_H5_OBJECTS} HDF5 objects: the rest was not analysed",
                    loc,
                    "hdf5",
                )
            for obj in objects:
                for key in obj.attrs:
                    if key not in ("model_config", "training_config"):
                        continue
                    # Read nothing larger than a config may be (an attribute can be huge).
                    if obj.attrs.get_id(key).get_storage_size() > ctx.limits.max_json_bytes:
                        ctx.add(
                            Severity.ERROR,
                            "keras-config-too-large",
                            f"HDF5 attribute {key} too large to analyse",
                            loc,
                            "hdf5",
                        )
                        continue
                    value = obj.attrs[key]
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "replace")
                    if isinstance(value, str):
                        config = load_keras_json(ctx, value, loc, "hdf5")
                        if config is not None:
                            check_keras_config(ctx, config, loc, "hdf5")
    except Exception as exc:  # h5py raises many types on hostile input
        ctx.add(
            Severity.ERROR,
            "hdf5-unreadable",
            f"HDF5 file cannot be read: {type(exc).__name__}",
            loc,
            "hdf5",
        )
    return "hdf5"
