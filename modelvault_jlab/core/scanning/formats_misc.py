"""GGUF, ONNX and TensorFlow protobufs: formats without pickles whose metadata can still attack
a loader.

* GGUF: header sanity (version, counts, string/array lengths, tensor dims and offsets — the
  llama.cpp parser CVEs came from unchecked values) and chat templates (see :mod:`.templates`).
  Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
* ONNX: a streaming protobuf walk by field number (any field order, unknown groups skipped;
  large ``raw_data`` is skipped with seek) that checks every ``external_data`` location stays
  inside the model folder (CVE-2022-25882 class: path traversal reading arbitrary files).
  Schema: https://github.com/onnx/onnx/blob/main/onnx/onnx.proto
* TensorFlow ``keras_metadata.pb`` / ``saved_model.pb``: the same walk, for the Keras layer
  configs tf_keras rebuilds from them and for graph ops that touch files or call Python.
* Sniffing at offset 0 misses HDF5 behind a userblock and protobufs: :func:`structural_checks`.
"""

from __future__ import annotations

import struct
from pathlib import PurePosixPath, PureWindowsPath

from .context import Location, ScanContext
from .keras import scan_hdf5_keras
from .keras_config import check_keras_metadata
from .models import Severity
from .stream import TruncatedError, Window
from .templates import check_template_text, template_too_large

# -- GGUF ------------------------------------------------------------------------------------------
_SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
MAX_GGUF_COUNT = 1 << 24
MAX_GGUF_STRING = 64 << 20
MAX_GGUF_DIMS = 4  # GGML_MAX_DIMS
MAX_GGML_TYPE = 64


class _BadError(Exception):
    pass


class _Gguf:
    def __init__(self, win: Window, version: int, keep_limit: int) -> None:
        self.win = win
        self.wide = version >= 2
        self.keep_limit = keep_limit
        self.too_large = False  # the last string asked for was above keep_limit (skipped)

    def count(self) -> int:
        if self.wide:
            return int(struct.unpack("<Q", self.win.read_exact(8))[0])
        return int(struct.unpack("<I", self.win.read_exact(4))[0])

    def string(self, keep: bool) -> str | None:
        n = self.count()
        if n > MAX_GGUF_STRING or n > self.win.remaining:
            raise _BadError(f"string of {n} bytes runs past the end of the file")
        self.too_large = keep and n > self.keep_limit
        if not keep or self.too_large:
            self.win.skip(n)
            return None
        return self.win.read_exact(n).decode("utf-8", "replace")

    def value(self, vtype: int, keep: bool) -> str | int | None:
        if vtype in _SCALAR:
            raw = self.win.read_exact(_SCALAR[vtype])
            return int.from_bytes(raw, "little") if vtype in (4, 10) else None
        if vtype == 8:
            return self.string(keep)
        if vtype == 9:
            etype = int(struct.unpack("<I", self.win.read_exact(4))[0])
            n = self.count()
            if n > MAX_GGUF_COUNT * 16:
                raise _BadError(f"array of {n} elements")
            if etype in _SCALAR:
                if n * _SCALAR[etype] > self.win.remaining:
                    raise _BadError("array runs past the end of the file")
                self.win.skip(n * _SCALAR[etype])
            elif etype in (8, 9):
                for _ in range(n):
                    self.value(etype, False)
            else:
                raise _BadError(f"array of unknown type {etype}")
            return None
        raise _BadError(f"unknown metadata value type {vtype}")


def scan_gguf(ctx: ScanContext, win: Window, loc: Location) -> str:
    try:
        win.read_exact(4)
        (version,) = struct.unpack("<I", win.read_exact(4))
        if version not in (1, 2, 3):
            raise _BadError(f"unsupported GGUF version {version}")
        g = _Gguf(win, version, ctx.limits.max_template_bytes)
        n_tensors, n_kv = g.count(), g.count()
        if n_tensors > MAX_GGUF_COUNT or n_kv > MAX_GGUF_COUNT:
            raise _BadError(f"implausible counts ({n_tensors} tensors, {n_kv} metadata keys)")
        alignment = 32
        for _ in range(n_kv):
            key = g.string(True) or ""
            (vtype,) = struct.unpack("<I", win.read_exact(4))
            is_template = key.startswith("tokenizer.chat_template")
            value = g.value(vtype, keep=is_template)
            if is_template and vtype == 8 and g.too_large:
                template_too_large(ctx, loc, "gguf", key)
            if key == "general.alignment" and isinstance(value, int):
                if value == 0 or value & (value - 1):
                    raise _BadError(f"alignment {value} is not a power of two")
                alignment = value
            if is_template and isinstance(value, str):
                check_template_text(ctx, value, loc, "gguf", key)
        infos: list[tuple[str, int]] = []
        for _ in range(n_tensors):
            name = g.string(True) or ""
            (n_dims,) = struct.unpack("<I", win.read_exact(4))
            if n_dims > MAX_GGUF_DIMS:
                raise _BadError(f"tensor {name!r} has {n_dims} dimensions")
            dims = (
                struct.unpack(f"<{n_dims}Q", win.read_exact(8 * n_dims))
                if g.wide
                else struct.unpack(f"<{n_dims}I", win.read_exact(4 * n_dims))
            )
            if any(d >= 1 << 40 for d in dims):
                raise _BadError(f"tensor {name!r} has an implausible dimension")
            (ttype,) = struct.unpack("<I", win.read_exact(4))
            (offset,) = struct.unpack("<Q", win.read_exact(8))
            if ttype >= MAX_GGML_TYPE:
                raise _BadError(f"tensor {name!r} has unknown type {ttype}")
            infos.append((name, offset))
        data_start = -(-win.pos // alignment) * alignment
        for name, offset in infos:
            if offset % alignment or data_start + offset > win.length:
                raise _BadError(f"tensor {name!r} data offset is misaligned or past the end")
    except (_BadError, TruncatedError, struct.error) as exc:
        ctx.add(
            Severity.SUSPICIOUS,
            "gguf-malformed",
            f"malformed GGUF: {exc}",
            loc,
            "gguf",
            offset=win.pos,
        )
    return "gguf"


# -- ONNX ------------------------------------------------------------------------------------------
# message name -> {field number: (child message name, repeated-ok)}
_SCHEMA: dict[str, dict[int, str]] = {
    "Model": {7: "Graph", 20: "Training", 25: "Function"},
    "Training": {1: "Graph", 2: "Graph"},
    "Function": {7: "Node", 11: "Attribute"},
    "Graph": {1: "Node", 5: "Tensor", 15: "Sparse"},
    "Node": {5: "Attribute"},
    "Attribute": {5: "Tensor", 6: "Graph", 10: "Tensor", 11: "Graph", 22: "Sparse", 23: "Sparse"},
    "Sparse": {1: "Tensor", 2: "Tensor"},
    "Tensor": {13: "Entry"},
    "Entry": {},
    # TF-Keras SavedModel keras_metadata.pb: SavedMetadata.nodes -> SavedObject.metadata (JSON)
    "SavedMetadata": {1: "SavedObject"},
    "SavedObject": {},
    # TF SavedModel saved_model.pb: meta_graphs -> object_graph_def -> nodes -> user_object
    # (tf_keras reads layer configs from its metadata when keras_metadata.pb is absent), and
    # meta_graphs -> graph_def (and its function library) -> node ops.
    "SavedModel": {2: "MetaGraph"},
    "MetaGraph": {2: "GraphDef", 7: "ObjectGraph"},
    "ObjectGraph": {1: "TFObject"},
    "TFObject": {4: "UserObject"},
    "UserObject": {},
    "GraphDef": {1: "TFNode", 2: "FunctionLibrary"},
    "FunctionLibrary": {1: "FunctionDef"},
    "FunctionDef": {3: "TFNode"},
    "TFNode": {},
}
_STRINGS = {("Entry", 1), ("Entry", 2), ("Node", 7), ("Node", 4), ("Tensor", 8)}
_STRINGS |= {("SavedObject", 4), ("SavedObject", 5), ("UserObject", 1), ("UserObject", 3)}
_STRINGS |= {("TFNode", 1), ("TFNode", 2)}
_KERAS_METADATA = "keras_metadata.pb"
_SAVED_MODEL = "saved_model.pb"
#: TensorFlow ops that touch the filesystem or call Python when a SavedModel graph runs.
_TF_RISKY_OPS = frozenset(
    {"ReadFile", "WriteFile", "MatchingFiles", "PyFunc", "PyFuncStateless", "EagerPyFunc"}
)
_STD_DOMAINS = {
    "",
    "ai.onnx",
    "ai.onnx.ml",
    "ai.onnx.training",
    "ai.onnx.preview.training",
    "com.microsoft",
    "com.microsoft.nchwc",
    "com.microsoft.experimental",
    "com.ms.internal.nhwc",
    "org.pytorch.aten",
}
MAX_PROTO_DEPTH = 48


def _varint(win: Window) -> int:
    shift = result = 0
    while True:
        b = win.read_byte()
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result
        shift += 7
        if shift > 63:
            raise _BadError("varint too long")


def location_escapes(location: str) -> bool:
    if not location or "\x00" in location:
        return True
    if location.startswith(("/", "\\", "~")) or PureWindowsPath(location).drive:
        return True
    if ":" in location.split("/")[0]:
        return True  # URL scheme or drive-relative path
    parts = PurePosixPath(location.replace("\\", "/")).parts
    return ".." in parts


class _ProtoWalk:
    def __init__(self, ctx: ScanContext, win: Window, loc: Location) -> None:
        self.ctx, self.win, self.loc = ctx, win, loc

    def message(self, kind: str, end: int, depth: int) -> dict[int, str]:
        if depth > MAX_PROTO_DEPTH:
            raise _BadError("protobuf nesting too deep")
        win = self.win
        schema = _SCHEMA[kind]
        strings: dict[int, str] = {}
        while win.pos < end:
            key = _varint(win)
            field, wtype = key >> 3, key & 7
            if field == 0:
                raise _BadError("field number 0")
            if wtype == 2:
                n = _varint(win)
                if n > end - win.pos:
                    raise _BadError("length-delimited field runs past its message")
                sub_end = win.pos + n
                if field in schema:
                    child = self.message(schema[field], sub_end, depth + 1)
                    self.on_child(schema[field], child, sub_end)
                elif (kind, field) in _STRINGS and n <= self.ctx.limits.max_json_bytes:
                    strings[field] = win.read_exact(n).decode("utf-8", "replace")
                else:
                    win.skip(n)
                win.seek(sub_end)
            else:
                self.skip_value(field, wtype, end, depth)
        if win.pos != end:
            raise _BadError("message overruns its length")
        return strings

    def skip_group(self, field: int, end: int, depth: int) -> None:
        """Skip to the end-group tag of ``field`` (protobuf parsers accept unknown groups)."""
        if depth > MAX_PROTO_DEPTH:
            raise _BadError("protobuf nesting too deep")
        win = self.win
        while win.pos < end:
            key = _varint(win)
            inner, wtype = key >> 3, key & 7
            if wtype == 4:
                if inner != field:
                    raise _BadError("mismatched end of group")
                return
            self.skip_value(inner, wtype, end, depth)
        raise _BadError("group not terminated")

    def skip_value(self, field: int, wtype: int, end: int, depth: int) -> None:
        """Skip one value of an unread field, as protobuf parsers do."""
        win = self.win
        if wtype == 0:
            _varint(win)
        elif wtype == 1:
            win.skip(8)
        elif wtype == 5:
            win.skip(4)
        elif wtype == 2:
            n = _varint(win)
            if n > end - win.pos:
                raise _BadError("length-delimited field runs past its message")
            win.skip(n)
        elif wtype == 3:  # a group (deprecated, still accepted for unknown fields)
            self.skip_group(field, end, depth + 1)
        else:
            raise _BadError(f"unsupported wire type {wtype}")

    def on_child(self, kind: str, fields: dict[int, str], offset: int) -> None:
        if kind == "Entry" and fields.get(1) == "location":
            location = fields.get(2, "")
            if location_escapes(location):
                self.ctx.add(
                    Severity.MALICIOUS,
                    "onnx-external-data-escape",
                    f"external data location {location[:200]!r} escapes the model folder",
                    self.loc,
                    "onnx",
                    offset=offset,
                )
        elif kind == "SavedObject" and fields.get(5):
            check_keras_metadata(self.ctx, fields[5], self.loc, fields.get(4, ""))
        elif kind == "UserObject" and fields.get(3):
            check_keras_metadata(self.ctx, fields[3], self.loc, fields.get(1, ""))
        elif kind == "TFNode" and fields.get(2) in _TF_RISKY_OPS:
            self.ctx.add(
                Severity.SUSPICIOUS,
                "tf-risky-op",
                f"graph node {fields.get(1, '?')[:100]!r} runs {fields[2]} when the model runs",
                self.loc,
                "tf-saved-model",
                global_=fields[2],
            )
        elif kind == "Node" and fields.get(7, "") not in _STD_DOMAINS:
            self.ctx.add(
                Severity.INFO,
                "onnx-custom-domain",
                f"operator {fields.get(4, '?')!r} from custom domain {fields[7]!r} "
                "needs a native extension",
                self.loc,
                "onnx",
            )


def scan_onnx(ctx: ScanContext, win: Window, loc: Location) -> str:
    try:
        _ProtoWalk(ctx, win, loc).message("Model", win.length, 0)
    except (_BadError, TruncatedError) as exc:
        if not _onnx_hint(loc):
            return "binary"  # the protobuf guess was wrong; nothing here can carry code
        ctx.add(
            Severity.ERROR,
            "onnx-malformed",
            f"cannot parse ONNX protobuf: {exc}",
            loc,
            "onnx",
            offset=win.pos,
        )
    return "onnx"


_BY_NAME = {
    _KERAS_METADATA: ("SavedMetadata", "keras-metadata"),
    _SAVED_MODEL: ("SavedModel", "tf-saved-model"),
}


def scan_tf_protobuf(ctx: ScanContext, win: Window, loc: Location, name: str) -> str:
    """A TensorFlow SavedModel file read by its fixed name: ``keras_metadata.pb`` (one JSON
    config per layer) or ``saved_model.pb`` (object-graph metadata and graph ops)."""
    message, fmt = _BY_NAME[name]
    try:
        _ProtoWalk(ctx, win, loc).message(message, win.length, 0)
    except (_BadError, TruncatedError) as exc:
        ctx.add(
            Severity.ERROR,
            f"{fmt}-malformed",
            f"cannot parse {name}: {exc}",
            loc,
            fmt,
            offset=win.pos,
        )
    return fmt


# -- what sniffing at offset 0 cannot see -----------------------------------------------------------
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def hdf5_superblock(win: Window) -> int | None:
    """Offset of an HDF5 superblock: the library looks at 0, 512, 1024, 2048, ... (a userblock
    of any power-of-two size >= 512 may come first, and h5py opens such files as HDF5)."""
    offset = 0
    while offset + len(HDF5_MAGIC) <= win.length:
        if win.read_at(offset, len(HDF5_MAGIC)) == HDF5_MAGIC:
            return offset
        offset = 512 if offset == 0 else offset * 2
    return None


def structural_checks(ctx: ScanContext, win: Window, loc: Location, fmt: str) -> str:
    """Run the scanners of formats a loader accepts although the bytes at offset 0 said ``fmt``:
    HDF5 behind a userblock (Keras ``.h5``), ONNX whose fields do not start with ``ir_version``
    (protobuf fields come in any order), ``keras_metadata.pb`` and ``saved_model.pb`` (no
    magic at all: TensorFlow opens them by name)."""
    if fmt != "hdf5" and hdf5_superblock(win) is not None:
        win.seek(0)
        scan_hdf5(ctx, win, loc)
        fmt = "hdf5" if fmt in ("binary", "text") else fmt
    name = (loc.name_hint or "").rsplit("/", 1)[-1]
    if name in _BY_NAME and fmt in ("binary", "text", "onnx"):
        win.seek(0)
        return scan_tf_protobuf(ctx, win, loc, name)
    if fmt in ("binary", "text"):  # NUL-free protobuf is UTF-8 "text"
        win.seek(0)
        parsed = scan_onnx(ctx, win, loc)
        fmt = parsed if fmt == "binary" or _onnx_hint(loc) else fmt
    return fmt


def _onnx_hint(loc: Location) -> bool:
    return (loc.name_hint or "").lower().endswith(".onnx")


def scan_hdf5(ctx: ScanContext, win: Window, loc: Location) -> str:
    return scan_hdf5_keras(ctx, win, loc)
