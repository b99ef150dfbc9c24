"""Per-format scanners on fixtures generated in-test (benign) and hand-built hostile variants."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np
import pytest
import torch

from modelvault_jlab.core.scanning import Verdict

from . import payloads as p
from .payloads import globals_of, rules


@pytest.fixture(scope="module")
def state_dict() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {
        "w": torch.randn(8, 8),
        "b": torch.zeros(8, dtype=torch.bfloat16),
        "i": torch.arange(4),
        "h": torch.ones(2, dtype=torch.float16),
    }


# -- torch ---------------------------------------------------------------------------------------
def test_torch_zip_checkpoint_is_clean(scan, tmp_path, state_dict):
    path = tmp_path / "pytorch_model.bin"
    torch.save(state_dict, path)
    report = scan.file(path)
    assert report.format == "torch-zip"
    assert report.verdict is Verdict.CLEAN, report.findings
    assert any(k.endswith("data.pkl") for k in report.inner_formats)


def test_torch_full_training_checkpoint_is_clean(scan, tmp_path):
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(3, 4)).sum().backward()
    opt.step()
    path = tmp_path / "ckpt.pt"
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "epoch": 3,
            "param": torch.nn.Parameter(torch.ones(2)),
            "size": torch.Size([2, 3]),
            "device": torch.device("cpu"),
            "dtype": torch.float16,
        },
        path,
    )
    report = scan.file(path)
    assert report.verdict is Verdict.CLEAN, report.findings


def test_torchscript_archive_is_analysed_as_torchscript_not_python(scan, tmp_path):
    scripted = torch.jit.script(torch.nn.Linear(2, 2))
    path = tmp_path / "scripted.pt"
    torch.jit.save(scripted, path)
    report = scan.file(path)
    assert report.format == "torch-zip"
    assert "python-code" not in rules(report)
    assert "torchscript" in report.inner_formats.values()
    assert report.verdict is Verdict.CLEAN, report.findings  # risky ops: test_benign.py


def test_trainer_rng_state_is_clean(scan, tmp_path):
    import random

    path = tmp_path / "rng_state.pth"
    torch.save(
        {
            "python": random.getstate(),
            "numpy": np.random.get_state(),
            "cpu": torch.random.get_rng_state(),
        },
        path,
    )
    assert scan.file(path).verdict is Verdict.CLEAN


def test_torch_legacy_format_is_clean(scan, tmp_path, state_dict):
    path = tmp_path / "legacy.pth"
    torch.save(state_dict, path, _use_new_zipfile_serialization=False)
    report = scan.file(path)
    assert report.format == "torch-legacy"
    assert report.verdict is Verdict.CLEAN, report.findings


def _torch_zip_with_pickle(tmp_path, state_dict, pkl: bytes, inner: str = "archive/data.pkl"):
    clean = tmp_path / "clean.pt"
    torch.save(state_dict, clean)
    out = tmp_path / "evil.ckpt"
    with zipfile.ZipFile(clean) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = pkl if info.filename.endswith("data.pkl") else zin.read(info)
            name = inner if info.filename.endswith("data.pkl") else info.filename
            zout.writestr(name, data)
    return out


def test_torch_zip_with_malicious_data_pkl(scan, tmp_path, state_dict):
    report = scan.file(_torch_zip_with_pickle(tmp_path, state_dict, p.os_system(protocol=2)))
    assert report.verdict is Verdict.MALICIOUS
    f = next(f for f in report.findings if f.rule == "pickle-denied-global")
    assert f.inner_path.endswith("data.pkl") and f.global_ == "os.system"


def test_torch_zip_any_prefix(scan, tmp_path, state_dict):
    path = _torch_zip_with_pickle(
        tmp_path, state_dict, p.os_system(protocol=2), inner="weird name/data.pkl"
    )
    assert scan.file(path).verdict is Verdict.MALICIOUS


def test_torch_legacy_with_malicious_object_pickle(scan):
    magic = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19."
    data = magic + b"\x80\x02M\xe9\x03." + b"\x80\x02}q\x00." + p.os_system(protocol=2)
    data += b"\x80\x02]q\x00." + b"\x00" * 64
    report = scan.bytes(data)
    assert report.format == "torch-legacy"
    assert report.verdict is Verdict.MALICIOUS


def test_torch_legacy_tar_format(scan):
    # torch < 0.4 tar layout, assembled by hand (modern torch cannot write it)
    import tarfile

    storages = (
        b"\x80\x02K\x01." + b"\x80\x02(X\x01\x00\x00\x000X\x03\x00\x00\x00cpuctorch\n"
        b"FloatStorage\nq\x00tq\x01." + struct.pack("<q", 2) + b"\x00" * 8 + b"\x80\x02]q\x00."
    )
    tensors = b"\x80\x02K\x00."
    members = {
        "sys_info": b"\x80\x02}q\x00.",
        "pickle": p.os_system(protocol=2),
        "storages": storages,
        "tensors": tensors,
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in members.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    report = scan.bytes(buf.getvalue())
    assert report.format == "torch-legacy-tar"
    assert report.verdict is Verdict.MALICIOUS
    assert any(f.inner_path == "pickle" for f in report.findings)
    members["pickle"] = b"\x80\x02}q\x00."
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in members.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    assert scan.bytes(buf.getvalue()).verdict is Verdict.CLEAN


# -- safetensors ---------------------------------------------------------------------------------
def test_safetensors_clean(scan, tmp_path, state_dict):
    from safetensors.torch import save_file

    path = tmp_path / "model.safetensors"
    save_file(state_dict, path, metadata={"format": "pt"})
    report = scan.file(path)
    assert report.format == "safetensors" and report.verdict is Verdict.CLEAN


def _st(header: dict, data: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


@pytest.mark.parametrize(
    "header,data",
    [
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\x00" * 4),  # short
        ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\x00" * 8),  # shape
        ({"a": {"dtype": "X9", "shape": [2], "data_offsets": [0, 8]}}, b"\x00" * 8),  # dtype
        (
            {
                "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
            },
            b"\x00" * 12,
        ),  # overlap
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\x00" * 12),  # gap
        ({"__metadata__": {"k": 1}}, b""),
    ],
)
def test_safetensors_invalid(scan, header, data):
    report = scan.bytes(_st(header, data))
    assert report.format == "safetensors"
    assert report.verdict is Verdict.SUSPICIOUS and "safetensors-invalid" in rules(report)


def test_safetensors_duplicate_keys_and_huge_header(scan):
    raw = (
        b'{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, '
        b'"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}'
    )
    assert "safetensors-invalid" in rules(scan.bytes(struct.pack("<Q", len(raw)) + raw + b"\x00"))


# -- numpy ---------------------------------------------------------------------------------------
def test_npy_and_npz(scan, tmp_path):
    np.save(tmp_path / "a.npy", np.arange(10))
    np.save(tmp_path / "o.npy", np.array([1, "a", None, {"k": 1}], dtype=object))
    np.savez(tmp_path / "z.npz", a=np.zeros(3), b=np.ones(2))
    np.savez_compressed(tmp_path / "zc.npz", a=np.zeros(300), o=np.array([[1]], dtype=object))
    for name, fmt in (
        ("a.npy", "npy"),
        ("o.npy", "npy-object"),
        ("z.npz", "npz"),
        ("zc.npz", "npz"),
    ):
        report = scan.file(tmp_path / name)
        assert report.format == fmt, name
        assert report.verdict is Verdict.CLEAN, (name, report.findings)


def test_npy_object_array_with_malicious_pickle(scan):
    header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += b" " * (63 - len(header) % 64) + b"\n"
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + p.os_system(protocol=3)
    report = scan.bytes(data)
    assert report.verdict is Verdict.MALICIOUS


def test_npz_member_with_malicious_pickle(scan):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("arr_0.npy", p.os_system())
    report = scan.bytes(buf.getvalue(), name_hint="x.npz")
    assert report.verdict is Verdict.MALICIOUS
    assert any(f.inner_path == "arr_0.npy" for f in report.findings)


def test_npy_malformed_header_is_error(scan):
    assert scan.bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': __imp").verdict is Verdict.ERROR


# -- joblib --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "compress", [0, ("zlib", 3), ("gzip", 3), ("bz2", 3), ("lzma", 3), ("xz", 3), ("lz4", 3)]
)
def test_joblib_variants_clean(scan, tmp_path, compress):
    joblib = pytest.importorskip("joblib")
    if compress and compress[0] == "lz4":
        pytest.importorskip("lz4")
    obj = {
        "a": np.arange(1000.0),
        "b": np.ones((3, 4), dtype=np.int8),
        "o": np.array([1, "x"], dtype=object),
        "s": "text",
        "f": np.array([1.5], dtype=">f4"),
    }
    path = tmp_path / "model.joblib"
    joblib.dump(obj, path, compress=compress)
    report = scan.file(path)
    assert report.verdict is Verdict.CLEAN, report.findings


def test_joblib_with_malicious_object_after_array(scan, tmp_path):
    joblib = pytest.importorskip("joblib")
    path = tmp_path / "m.joblib"
    joblib.dump({"a": np.arange(100.0)}, path)
    data = path.read_bytes()
    report = scan.bytes(data + p.os_system(protocol=2))
    assert report.verdict is Verdict.MALICIOUS


# -- transformers save_pretrained ----------------------------------------------------------------
@pytest.mark.parametrize("safe", [True, False])
def test_transformers_save_pretrained(scan, tmp_path, safe):
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(n_layer=1, n_head=2, n_embd=8, vocab_size=64, n_positions=16)
    model = transformers.GPT2LMHeadModel(config)
    model.save_pretrained(tmp_path, safe_serialization=safe)
    files = [f for f in tmp_path.iterdir() if f.is_file()]
    assert files
    for f in files:
        report = scan.file(f)
        assert report.verdict is Verdict.CLEAN, (f.name, report.format, report.findings)


def test_transformers_training_args(scan, tmp_path):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    args = transformers.TrainingArguments(output_dir=str(tmp_path / "out"), report_to=[])
    torch.save(args, tmp_path / "training_args.bin")
    report = scan.file(tmp_path / "training_args.bin")
    assert report.verdict is Verdict.CLEAN, report.findings


# -- GGUF ----------------------------------------------------------------------------------------
def _gguf(kv: dict[str, str], tensors: int = 1, dims: int = 1, ttype: int = 0) -> bytes:
    def s(x: str) -> bytes:
        b = x.encode()
        return struct.pack("<Q", len(b)) + b

    out = b"GGUF" + struct.pack("<IQQ", 3, tensors, len(kv) + 1)
    out += s("general.architecture") + struct.pack("<I", 8) + s("llama")
    for k, v in kv.items():
        out += s(k) + struct.pack("<I", 8) + s(v)
    for i in range(tensors):
        out += s(f"t{i}") + struct.pack("<I", dims) + struct.pack(f"<{dims}Q", *([4] * dims))
        out += struct.pack("<IQ", ttype, i * 32)
    out += b"\x00" * (-len(out) % 32)
    return out + b"\x00" * 32 * tensors


def test_gguf_clean_template(scan):
    tpl = (
        "{% set ns = namespace(x=1) %}{% for m in messages %}<|{{ m['role'] }}|>"
        "{{ m['content'] }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    report = scan.bytes(_gguf({"tokenizer.chat_template": tpl}))
    assert report.format == "gguf" and report.verdict is Verdict.CLEAN, report.findings


def test_gguf_ssti_template(scan):
    # CVE-2024-34359 (llama-cpp-python), GHSA-56xg-wfcc-g829
    tpl = (
        "{% for x in ().__class__.__base__.__subclasses__() %}{% if 'warning' in x.__name__ %}"
        "{{ x()._module.__builtins__['__import__']('os').popen('id').read() }}{% endif %}"
        "{% endfor %}"
    )
    report = scan.bytes(_gguf({"tokenizer.chat_template": tpl}))
    assert report.verdict is Verdict.MALICIOUS and "chat-template-ssti" in rules(report)


@pytest.mark.parametrize("kwargs", [{"dims": 9}, {"ttype": 999}])
def test_gguf_malformed(scan, kwargs):
    report = scan.bytes(_gguf({}, **kwargs))
    assert "gguf-malformed" in rules(report) and report.verdict is Verdict.SUSPICIOUS


def test_gguf_truncated(scan):
    assert "gguf-malformed" in rules(scan.bytes(_gguf({"a": "b" * 100})[:60]))


def test_tokenizer_config_chat_template(scan):
    good = json.dumps({"chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"})
    assert scan.bytes(good.encode(), "tokenizer_config.json").verdict is Verdict.CLEAN
    bad = json.dumps({"chat_template": "{{ self.__init__.__globals__ }}"})
    assert scan.bytes(bad.encode(), "tokenizer_config.json").verdict is Verdict.MALICIOUS


# -- ONNX ----------------------------------------------------------------------------------------
def _onnx_model(location: str | None) -> bytes:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    init = helper.make_tensor("W", TensorProto.FLOAT, [2], [1.0, 2.0])
    if location is not None:
        init.ClearField("float_data")
        init.data_location = TensorProto.EXTERNAL
        for k, v in (("location", location), ("offset", "0"), ("length", "8")):
            e = init.external_data.add()
            e.key, e.value = k, v
    node = helper.make_node("Add", ["X", "W"], ["Y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("X", 1, [2])],
        [helper.make_tensor_value_info("Y", 1, [2])],
        [init],
    )
    return onnx.helper.make_model(graph).SerializeToString()


@pytest.mark.parametrize(
    "location,expected",
    [
        (None, Verdict.CLEAN),
        ("weights.bin", Verdict.CLEAN),
        ("sub/w.bin", Verdict.CLEAN),
        ("../../etc/passwd", Verdict.MALICIOUS),
        ("/etc/passwd", Verdict.MALICIOUS),
        ("C:\\Windows\\win.ini", Verdict.MALICIOUS),
        ("a/../../b", Verdict.MALICIOUS),
    ],
)
def test_onnx_external_data(scan, location, expected):
    report = scan.bytes(_onnx_model(location), name_hint="model.onnx")
    assert report.format == "onnx"
    assert report.verdict is expected, report.findings


def test_onnx_detected_without_name_hint(scan):
    assert scan.bytes(_onnx_model("../x")).verdict is Verdict.MALICIOUS


# -- Keras ---------------------------------------------------------------------------------------
def _keras_zip(config: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.5.0"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", b"")
    return buf.getvalue()


def _layer(class_name: str, module: str = "keras.layers", **config) -> dict:
    return {"module": module, "class_name": class_name, "config": config, "registered_name": None}


def _seq(*layers: dict) -> dict:
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"layers": list(layers)},
        "registered_name": None,
    }


def test_keras_clean(scan):
    report = scan.bytes(_keras_zip(_seq(_layer("Dense", units=2))), "model.keras")
    assert report.format == "keras" and report.verdict is Verdict.CLEAN, report.findings


def test_keras_lambda_in_nested_model(scan):
    lam = _layer(
        "Lambda", function={"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA"}}
    )
    report = scan.bytes(_keras_zip(_seq(_layer("Dense"), _seq(lam))), "model.keras")
    assert report.verdict is Verdict.MALICIOUS and "keras-lambda" in rules(report)


def test_keras_function_object_outside_keras(scan):
    # CVE-2025-1550: module/class_name pairs import arbitrary callables
    fn = {
        "module": "os",
        "class_name": "function",
        "config": "system",
        "registered_name": "function",
    }
    report = scan.bytes(_keras_zip(_seq(_layer("Dense", activation=fn))), "model.keras")
    assert report.verdict is Verdict.MALICIOUS


def test_keras_get_file_gadget(scan):
    # CVE-2025-8747: keras.utils.get_file reachable in safe mode
    fn = {
        "module": "keras.utils",
        "class_name": "function",
        "config": "get_file",
        "registered_name": "function",
    }
    report = scan.bytes(_keras_zip(_seq(_layer("Dense", activation=fn))), "model.keras")
    assert report.verdict is Verdict.MALICIOUS


def test_keras_custom_object(scan):
    report = scan.bytes(_keras_zip(_seq(_layer("MyLayer", module="mypkg.layers"))))
    assert report.verdict is Verdict.SUSPICIOUS and "keras-custom-object" in rules(report)


def test_keras_h5(scan, tmp_path):
    h5py = pytest.importorskip("h5py")
    clean, evil = tmp_path / "clean.h5", tmp_path / "evil.h5"
    for path, layer in ((clean, _layer("Dense")), (evil, _layer("Lambda", function="x"))):
        with h5py.File(path, "w") as f:
            f.attrs["model_config"] = json.dumps(
                {"class_name": "Functional", "config": {"layers": [layer]}}
            )
            f.create_dataset("model_weights/dense/kernel", data=np.ones((2, 2)))
    assert scan.file(clean).format == "hdf5"
    assert scan.file(clean).verdict is Verdict.CLEAN
    assert scan.file(evil).verdict is Verdict.MALICIOUS


def test_hdf5_garbage_is_error(scan):
    assert scan.bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 100).verdict is Verdict.ERROR


# -- Python and text -----------------------------------------------------------------------------
def test_python_code_is_its_own_finding(scan):
    src = b"import os\nimport torch\nfrom subprocess import run\n\nclass M:\n    pass\n"
    report = scan.bytes(src, name_hint="modeling_foo.py")
    assert report.format == "python" and report.verdict is Verdict.SUSPICIOUS
    assert "python-code" in rules(report)
    assert {"os", "subprocess.run"} <= globals_of(report)


def test_python_shebang_without_hint(scan):
    assert scan.bytes(b"#!/usr/bin/env python3\nprint(1)\n").format == "python"


@pytest.mark.parametrize(
    "data,hint",
    [
        (b'{"architectures": ["GPT2"], "n_layer": 1}', "config.json"),
        (b"# Model card\n\nSome text.\n", "README.md"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "image.png"),
        (bytes(range(256)) * 4, "blob.bin"),
        (b"", "empty"),
    ],
)
def test_benign_data_is_clean(scan, data, hint):
    assert scan.bytes(data, hint).verdict is Verdict.CLEAN


def test_lzma_detection_needs_a_header_liblzma_accepts():
    import lzma
    import random

    from modelvault_jlab.core.scanning.detect import detect_format

    real = lzma.compress(b"weights" * 100, format=lzma.FORMAT_ALONE)
    assert detect_format(real[:64], len(real), None) == "lzma"
    # Random bytes that merely start with 0x5d (1 file in 256) are not a compressed stream.
    rng = random.Random(7)
    heads = [b"\x5d" + rng.randbytes(4095) for _ in range(2000)]
    assert [h for h in heads if detect_format(h, len(h), None) == "lzma"] == []
