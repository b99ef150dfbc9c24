"""Keras configs: the JSON from which Keras rebuilds objects, wherever it was found (a ``.keras``
zip's ``config.json``, an HDF5 ``model_config`` attribute, a TF-Keras ``keras_metadata.pb``, a
model folder's config).

Keras configs rebuild objects by (module, class_name): Lambda layers carry marshalled bytecode,
arbitrary ``module`` values import anything, and ``class_name: "function"`` entries call any
function (CVE-2024-3660, CVE-2025-1550, CVE-2025-8747 / GHSA-c9rc-mg46-23w3, CVE-2025-9906). The
config JSON is walked recursively (nested models included).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from .context import Location, ScanContext, json_cost
from .models import Severity
from .stream import Window

#: Packages Keras itself trusts when a config names a ``module`` (serialization_lib).
_KERAS_PACKAGES = ("keras", "keras_hub", "keras_cv", "keras_nlp", "tf_keras", "tensorflow")
_DOTTED = re.compile(r"[A-Za-z_][\w.]*")
_DANGEROUS_KERAS = frozenset(
    {
        "get_file",
        "enable_unsafe_deserialization",
        "load_model",
        "deserialize_keras_object",
        "exec",
        "eval",
        "system",
    }
)


def check_keras_config(ctx: ScanContext, config: Any, loc: Location, fmt: str) -> None:
    stack: list[tuple[Any, int]] = [(config, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > 200:
            ctx.add(Severity.ERROR, "keras-config-too-deep", "config nesting too deep", loc, fmt)
            return
        if isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
            continue
        if isinstance(node, str):
            if "enable_unsafe_deserialization" in node:
                ctx.add(
                    Severity.MALICIOUS,
                    "keras-unsafe-deserialization",
                    "config turns off Keras safe mode",
                    loc,
                    fmt,
                )
            continue
        if not isinstance(node, dict):
            continue
        _check_object(ctx, node, loc, fmt)
        stack.extend((v, depth + 1) for v in node.values())


def _in_keras(module: str) -> bool:
    return module.split(".", 1)[0] in _KERAS_PACKAGES  # "keras_evil" is not "keras"


def _check_embedded_module(
    ctx: ScanContext, class_name: str, inner: dict[str, Any], loc: Location, fmt: str
) -> None:
    """``TorchModuleWrapper`` (and subclasses) keep a whole ``torch.save`` pickle, base64 in
    ``config["module"]``, and ``from_config`` runs ``torch.load(weights_only=False)`` on it. The
    value is decoded exactly as Keras does (non-validating base64) and scanned as a file."""
    value = inner.get("module")
    if not isinstance(value, str) or (len(value) < 256 and _DOTTED.fullmatch(value)):
        return
    child = loc.child(f"[{class_name} module]")
    ctx.add(
        Severity.SUSPICIOUS,
        "keras-torch-module",
        f"{class_name} embeds a serialized torch module: loading it runs torch.load on a "
        "pickle (needs safe_mode=False)",
        loc,
        fmt,
        global_=class_name,
    )
    try:
        data = base64.b64decode(value.encode("ascii"))
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return  # Keras fails on it the same way: nothing is loaded
    ctx.scan_inner(Window.of_bytes(data), child)


def _check_object(ctx: ScanContext, node: dict[str, Any], loc: Location, fmt: str) -> None:
    class_name = node.get("class_name")
    if not isinstance(class_name, str):
        return
    module = node.get("module")
    registered = node.get("registered_name")
    inner = node.get("config")
    if isinstance(inner, dict):
        _check_embedded_module(ctx, class_name, inner, loc, fmt)
    if class_name in ("Lambda", "__lambda__"):
        ctx.add(
            Severity.MALICIOUS,
            "keras-lambda",
            "Lambda layer: its function is stored as (marshalled) code that runs on load",
            loc,
            fmt,
            global_="keras.layers.Lambda",
        )
    elif class_name in ("TFOpLambda", "SlicingOpLambda"):
        ctx.add(
            Severity.SUSPICIOUS,
            "keras-tf-op-lambda",
            f"{class_name} layer calls TensorFlow function {node.get('config', {})!r:.80}",
            loc,
            fmt,
        )
    target = class_name
    if class_name == "function" and isinstance(node.get("config"), str):
        target = str(node["config"])
    if isinstance(module, str):
        dotted = f"{module}.{target}"
        in_keras = _in_keras(module)
        denied = None if in_keras else ctx.policy.is_denied(dotted)
        if denied or target in _DANGEROUS_KERAS:
            ctx.add(
                Severity.MALICIOUS,
                "keras-dangerous-object",
                f"config references {dotted}: {denied or 'dangerous Keras utility'}",
                loc,
                fmt,
                global_=dotted,
            )
        elif not in_keras:
            ctx.add(
                Severity.SUSPICIOUS,
                "keras-custom-object",
                f"config imports {dotted} from outside Keras",
                loc,
                fmt,
                global_=dotted,
            )
    elif target in _DANGEROUS_KERAS:
        ctx.add(
            Severity.MALICIOUS,
            "keras-dangerous-object",
            f"config references {target}",
            loc,
            fmt,
            global_=target,
        )
    if (
        isinstance(registered, str)
        and registered
        and ">" in registered
        and not registered.startswith(("keras", "Custom>"))
    ):
        ctx.add(
            Severity.SUSPICIOUS,
            "keras-custom-object",
            f"config needs registered custom object {registered!r}",
            loc,
            fmt,
            global_=registered,
        )


def check_keras_metadata(ctx: ScanContext, metadata: str, loc: Location, identifier: str) -> None:
    """One SavedObject's metadata from a TF-Keras ``keras_metadata.pb`` (a layer's JSON config,
    from which tf_keras rebuilds the layer, Lambda code included)."""
    config = load_keras_json(ctx, metadata, loc, "keras-metadata")
    if config is not None:
        check_keras_config(ctx, config, loc, "keras-metadata")


def load_keras_json(ctx: ScanContext, raw: bytes | str, loc: Location, fmt: str) -> Any:
    if json_cost(raw.encode() if isinstance(raw, str) else raw) > ctx.limits.max_json_cost:
        ctx.add(
            Severity.ERROR,
            "keras-config-too-large",
            "config too large to analyse (parsed-memory estimate)",
            loc,
            fmt,
        )
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        ctx.add(
            Severity.ERROR, "keras-config-invalid", f"config is not valid JSON: {exc}", loc, fmt
        )
        return None
