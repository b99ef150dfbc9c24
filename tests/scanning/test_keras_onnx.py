"""Keras and ONNX bypass classes: every place the real loaders read from is scanned.

Live proofs use Keras 3 with the torch backend (``safe_mode=False``, as a model card would ask),
torch.load for the embedded module, h5py for the userblock, onnx's own protobuf parser for the
reordered model. TF-Keras is not installable here: ``keras_metadata.pb`` is tested scanner-side.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path

import pytest

from modelvault_jlab.core.scanning import Verdict

from .corpus import _torch_zip
from .live import marker_command, payload_runs
from .payloads import reduce_call, su


def _torch_payload() -> bytes:
    return _torch_zip(reduce_call("builtins", "exec", su(marker_command())))


def _wrapper_config(module_b64: str) -> dict:
    return {
        "module": "keras.layers",
        "class_name": "TorchModuleWrapper",
        "config": {"name": "wrapped", "module": module_b64},
        "registered_name": "TorchModuleWrapper",
    }


def _keras_zip(config: dict, *, metadata: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        if metadata:
            z.writestr("metadata.json", "{}")
        z.writestr("config.json", json.dumps(config))
    return buf.getvalue()


LAMBDA = {
    "module": "keras.layers",
    "class_name": "Lambda",
    "config": {"function": {"class_name": "__lambda__", "config": {"value": "4wEAAAAA"}}},
}


def test_torch_module_wrapper_pickle_is_scanned(scan):
    b64 = base64.b64encode(_torch_payload()).decode()
    for data, hint in (
        (_keras_zip(_wrapper_config(b64)), "model.keras"),
        (json.dumps(_wrapper_config(b64)).encode(), "config.json"),
    ):
        report = scan.bytes(data, name_hint=hint)
        assert report.verdict is Verdict.MALICIOUS, (hint, report.findings)
        assert any(f.global_ == "builtins.exec" for f in report.findings), report.findings
    # Keras decodes without validation: noise characters in the base64 change nothing
    noisy = "\n".join(b64[i : i + 60] for i in range(0, len(b64), 60))
    report = scan.bytes(_keras_zip(_wrapper_config(noisy)), name_hint="model.keras")
    assert report.verdict is Verdict.MALICIOUS
    assert payload_runs("torch", base64.b64decode(b64), name="module.pt")


def test_keras_configs_without_metadata_and_loose_are_scanned(scan):
    for data, hint in (
        (_keras_zip(LAMBDA), "model.keras"),
        (_keras_zip(LAMBDA, metadata=True), "model.keras"),
        (json.dumps(LAMBDA).encode(), "config.json"),
        (("\n" * 5000 + json.dumps(LAMBDA)).encode(), "config.json"),
    ):
        report = scan.bytes(data, name_hint=hint)
        assert report.verdict is Verdict.MALICIOUS, (hint, report.findings)
    utf16 = io.BytesIO()
    with zipfile.ZipFile(utf16, "w") as z:  # json.loads(bytes) reads UTF-16 too, as Keras does
        z.writestr("config.json", json.dumps(LAMBDA).encode("utf-16"))
    assert scan.bytes(utf16.getvalue(), name_hint="m.keras").verdict is Verdict.MALICIOUS


def test_lookalike_keras_modules_are_not_keras(scan):
    for module in ("keras_evil", "kerasx.layers", "tensorflowx"):
        cfg = {"module": module, "class_name": "Dense", "config": {}}
        report = scan.bytes(_keras_zip(cfg), name_hint="model.keras")
        assert report.verdict is not Verdict.CLEAN, module
    ok = {"module": "keras.layers", "class_name": "Dense", "config": {"units": 2}}
    assert scan.bytes(_keras_zip(ok), name_hint="model.keras").verdict is Verdict.CLEAN


def test_keras_loads_the_payload_from_a_folder_and_a_zip_without_metadata(tmp_path: Path):
    b64 = base64.b64encode(_torch_payload()).decode()
    sample = tmp_path / "sample"
    (sample / "hf").mkdir(parents=True)
    (sample / "hf" / "config.json").write_text(json.dumps(_wrapper_config(b64)))
    (sample / "model.keras").write_bytes(_keras_zip(_wrapper_config(b64)))
    loader = (
        "import os, sys\nos.environ['KERAS_BACKEND'] = 'torch'\nimport keras\n"
        "def load(p):\n    try:\n        keras.saving.load_model(p, safe_mode=False)\n"
        "    except Exception as e:\n        print(type(e).__name__, e)\n"
        "load(os.path.join(sys.argv[1], 'hf'))\n"
        "assert os.path.exists('PWNED_MARKER'), 'folder'\nos.remove('PWNED_MARKER')\n"
        "load(os.path.join(sys.argv[1], 'model.keras'))\n"
    )
    assert payload_runs(loader, sample)


def test_hdf5_behind_a_userblock_is_scanned(scan, tmp_path: Path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "model.h5"
    with h5py.File(path, "w", userblock_size=1024) as f:
        f.attrs["model_config"] = json.dumps(
            {"class_name": "Sequential", "config": {"layers": [LAMBDA]}}
        )
    data = bytearray(path.read_bytes())
    data[:1024] = b"# just a README\n".ljust(1024, b" ")  # sniffing at 0 says: text
    path.write_bytes(bytes(data))
    with h5py.File(path, "r") as f:  # what Keras' legacy loader opens first
        assert "Lambda" in f.attrs["model_config"]
    report = scan.bytes(bytes(data), name_hint="model.h5")
    assert report.verdict is Verdict.MALICIOUS and report.format == "hdf5", report.findings


def _field(num: int, payload: bytes) -> bytes:
    return _varint((num << 3) | 2) + _varint(len(payload)) + payload


def _varint(n: int) -> bytes:
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def test_keras_metadata_pb_is_scanned(scan):
    meta = json.dumps({"class_name": "Lambda", "config": LAMBDA["config"]}).encode()
    pb = _field(1, _field(3, b"root.layer-0") + _field(4, b"_tf_keras_layer") + _field(5, meta))
    report = scan.bytes(pb, name_hint="keras_metadata.pb")
    assert report.verdict is Verdict.MALICIOUS, report.findings


def _reordered_onnx(location: str, *, group: bool = False) -> bytes:
    entry = _field(2, location.encode()) + _field(1, b"location")  # value before key
    tensor = b"\x70\x01" + _field(13, entry) + _field(8, b"W") + b"\x08\x01"
    graph = _field(5, tensor) + _field(2, b"g")
    unknown_group = b"\x9b\x06" + b"\x08\x01" + b"\x9c\x06" if group else b""  # field 99
    return _field(7, graph) + unknown_group + b"\x08\x08" + _field(8, b"\x10\x11")


@pytest.mark.parametrize("group", [False, True])
@pytest.mark.parametrize("hint", ["model.onnx", "weights.bin", None])
def test_onnx_in_any_field_order_is_checked(scan, hint, group):
    onnx = pytest.importorskip("onnx")
    for location in ("../../../etc/passwd", "/etc/passwd", "a/../../x", "C:\\x"):
        data = _reordered_onnx(location, group=group)
        model = onnx.ModelProto.FromString(data)  # what onnx.load parses
        entries = model.graph.initializer[0].external_data
        assert {e.key: e.value for e in entries}["location"] == location
        report = scan.bytes(data, name_hint=hint)
        assert report.verdict is Verdict.MALICIOUS, (hint, location, report.findings)
    clean = _reordered_onnx("weights.bin", group=group)
    assert scan.bytes(clean, name_hint=hint).verdict is Verdict.CLEAN


def test_saved_model_pb_object_metadata_and_ops_are_scanned(scan):
    """tf_keras rebuilds layers from saved_model.pb's user-object metadata when there is no
    keras_metadata.pb; graph ops such as ReadFile run with the model."""
    meta = json.dumps({"class_name": "Lambda", "config": LAMBDA["config"]}).encode()
    user_object = _field(1, b"_tf_keras_layer") + _field(3, meta)
    object_graph = _field(1, _field(4, user_object))
    node = _field(1, b"read") + _field(2, b"ReadFile")
    graph = _field(2, _field(1, _field(3, node)))  # in the function library
    saved_model = b"\x08\x01" + _field(2, _field(7, object_graph) + _field(2, graph))
    report = scan.bytes(saved_model, name_hint="saved_model.pb")
    assert report.verdict is Verdict.MALICIOUS, report.findings
    assert {"keras-lambda", "tf-risky-op"} <= {f.rule for f in report.findings}
    plain = b"\x08\x01" + _field(2, _field(2, _field(1, _field(2, b"MatMul"))))
    assert scan.bytes(plain, name_hint="saved_model.pb").verdict is Verdict.CLEAN
