"""A benign corpus: ordinary model-repository files written by the real libraries.

Every file here is what a user gets from the documented API (``torch.save``, ``torch.jit.save``,
``torch.distributed.checkpoint.save``, ``joblib.dump`` of an sklearn ``Pipeline``, ``pickle`` of a
``tokenizers.Tokenizer``, ``save_pretrained``...), made tiny so that building all of them costs a
few seconds. The scanner must call every one of them ``clean`` (tests/scanning/test_benign.py);
bench/bench_scan.py uses the same set to count false positives of other scanners.

Nothing is hand-assembled from bytes except where a library cannot produce the object on this
platform (``pathlib.WindowsPath`` on Linux), and there the pickle is still written by ``pickle``.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import functools
import pathlib
import pickle
import random
import types
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

Builder = Callable[[Path], None]
BUILDERS: dict[str, Builder] = {}


def benign(name: str) -> Callable[[Builder], Builder]:
    """Register a builder that writes the file (or directory) ``name`` under the root it gets."""

    def register(fn: Builder) -> Builder:
        BUILDERS[name] = fn
        return fn

    return register


def _tiny_net() -> Any:
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv1d(2, 4, 3),
        torch.nn.BatchNorm1d(4),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(16, 8),
        torch.nn.LayerNorm(8),
        torch.nn.GELU(),
        torch.nn.Dropout(0.1),
        torch.nn.Linear(8, 2),
    )


def _save(obj: Any, path: Path, **kw: Any) -> None:
    import torch

    torch.save(obj, path, **kw)


# -- torch.save: state dicts and training checkpoints -----------------------------------------
@benign("torch/state_dict.pt")
def _state_dict(p: Path) -> None:
    import torch

    _save({"w": torch.randn(4, 4), "b": torch.zeros(4, dtype=torch.bfloat16)}, p)


@benign("torch/legacy_format.pth")
def _legacy(p: Path) -> None:
    _save(_tiny_net().state_dict(), p, _use_new_zipfile_serialization=False)


@benign("torch/optimizer_checkpoint.pt")
def _optim(p: Path) -> None:
    import torch

    net = _tiny_net()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, 10)
    net(torch.randn(3, 2, 6)).sum().backward()
    opt.step()
    sched.step()
    _save(
        {
            "model": net.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "epoch": 3,
            "loss": 0.25,
        },
        p,
    )


@benign("torch/rng_state.pth")
def _rng(p: Path) -> None:
    import numpy as np
    import torch

    _save(
        {
            "python": random.getstate(),
            "numpy": np.random.get_state(),
            "cpu": torch.random.get_rng_state(),
        },
        p,
    )


@benign("torch/numpy_generator_state.pt")
def _np_generator(p: Path) -> None:
    import numpy as np

    _save(
        {
            "rng": np.random.default_rng(0),
            "state": np.random.default_rng(1).bit_generator.state,
            "philox": np.random.Generator(np.random.Philox(2)),
            "sfc64": np.random.Generator(np.random.SFC64(3)),
            "pcg64dxsm": np.random.Generator(np.random.PCG64DXSM(4)),
            "mt19937": np.random.Generator(np.random.MT19937(5)),
            "legacy": np.random.RandomState(6),
        },
        p,
    )


@benign("torch/whole_module.pt")
def _whole_module(p: Path) -> None:
    _save(_tiny_net(), p)


class _PartialAct:  # what a model that stores ``functools.partial(F.gelu, ...)`` pickles
    pass


@benign("torch/module_with_partial.pt")
def _partial_module(p: Path) -> None:
    import torch

    net = _tiny_net()
    net.act_fn = functools.partial(torch.nn.functional.gelu, approximate="tanh")
    net.norm_fn = functools.partial(torch.nn.functional.layer_norm, normalized_shape=(8,))
    _save(net, p)


@benign("torch/checkpoint_metadata.pt")
def _metadata(p: Path) -> None:
    import torch

    ns = argparse.Namespace(lr=0.1, epochs=3, out_dir="runs/x")
    _save(
        {
            "state_dict": _tiny_net().state_dict(),
            "saved_at": dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC),
            "day": dt.date(2024, 5, 1),
            "clock": dt.time(12, 30),
            "elapsed": dt.timedelta(hours=2),
            "naive": dt.datetime(2024, 5, 1, 12, 0),
            "args": ns,
            "hparams": types.SimpleNamespace(hidden=8, layers=2),
            "run_id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "torch_version": torch.__version__,
            "history": collections.deque([0.5, 0.4], maxlen=10),
            "ordered": collections.OrderedDict(a=1),
            "counts": collections.defaultdict(list, {"x": [1]}),
            "counter": collections.Counter("aab"),
        },
        p,
    )


class _WindowsPathReduce:
    """A checkpoint written on Windows holds ``pathlib.WindowsPath`` (not instantiable here)."""

    def __init__(self, *parts: str) -> None:
        self.parts = parts

    def __reduce__(self) -> tuple[Any, ...]:
        return (pathlib.WindowsPath, self.parts)


@benign("torch/checkpoint_paths.pt")
def _paths(p: Path) -> None:
    _save(
        {
            "data_dir": pathlib.PosixPath("/data/train"),
            "rel": pathlib.Path("runs/1"),
            "pure": pathlib.PurePosixPath("a/b"),
            "win": pathlib.PureWindowsPath("C:/data"),
            "win_concrete": _WindowsPathReduce("C:\\data", "train"),
        },
        p,
    )


@benign("torch/torchscript_scripted.pt")
def _scripted(p: Path) -> None:
    import torch

    torch.jit.save(torch.jit.script(_tiny_net().eval()), str(p))


@benign("torch/torchscript_traced.pt")
def _traced(p: Path) -> None:
    import torch

    net = _tiny_net().eval()
    torch.jit.save(torch.jit.trace(net, torch.randn(1, 2, 6)), str(p))


@benign("torch/distributed_checkpoint")
def _dcp(p: Path) -> None:
    import torch
    import torch.distributed.checkpoint as dcp

    net = _tiny_net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dcp.save(
            {
                "model": net.state_dict(),
                "optim": opt.state_dict(),
                "step": 7,
                "extra": {"note": "x"},
            },
            checkpoint_id=str(p),
        )


# -- transformers / tokenizers ----------------------------------------------------------------
@benign("transformers/training_args.bin")
def _training_args(p: Path) -> None:
    import transformers

    args = transformers.TrainingArguments(output_dir=str(p.parent / "out"), report_to=[])
    _save(args, p)


@benign("transformers/gpt2")
def _gpt2(p: Path) -> None:
    import transformers

    cfg = transformers.GPT2Config(n_layer=1, n_head=2, n_embd=8, vocab_size=32, n_positions=8)
    model = transformers.GPT2LMHeadModel(cfg)
    model.save_pretrained(p)
    model.generation_config.save_pretrained(p)
    _save(model.state_dict(), p / "pytorch_model.bin")


def _tokenizer() -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=40, special_tokens=["[UNK]", "[PAD]"])
    tok.train_from_iterator(["the cat sat on the mat", "a dog and a cat"], trainer)
    return tok


@benign("tokenizers/tokenizer.pkl")
def _tokenizer_pickle(p: Path) -> None:
    p.write_bytes(pickle.dumps(_tokenizer()))


@benign("tokenizers/tokenizer.json")
def _tokenizer_json(p: Path) -> None:
    _tokenizer().save(str(p))


# -- numpy / joblib / sklearn -----------------------------------------------------------------
@benign("numpy/array.npy")
def _npy(p: Path) -> None:
    import numpy as np

    np.save(p, np.arange(100, dtype=np.float32))


@benign("numpy/structured.npy")
def _npy_struct(p: Path) -> None:
    import numpy as np

    np.save(p, np.zeros(3, dtype=[("x", "<f4"), ("y", "<i8")]))


@benign("numpy/arrays.npz")
def _npz(p: Path) -> None:
    import numpy as np

    np.savez_compressed(p, a=np.zeros(10), b=np.ones((2, 3)))


@benign("numpy/arrays.pkl")
def _np_pickle(p: Path) -> None:
    import numpy as np

    p.write_bytes(
        pickle.dumps(
            {"x": np.arange(10.0), "y": [1, 2], "d": np.dtype("int16"), "s": np.float32(1.5)},
            protocol=4,
        )
    )


def _joblib(p: Path, compress: Any) -> None:
    import joblib
    import numpy as np

    joblib.dump({"a": np.arange(50.0), "b": np.ones((3, 3), dtype=np.int8)}, p, compress=compress)


for _c in (0, "zlib", "gzip", "bz2", "lzma", "xz"):
    benign(f"joblib/arrays_{_c or 'raw'}.joblib")(
        functools.partial(lambda p, c: _joblib(p, (c, 3) if c else 0), c=_c)
    )


def _fit_pipeline() -> Any:
    import numpy as np
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 4)), np.arange(40) % 2
    return Pipeline(
        [("scale", StandardScaler()), ("pca", PCA(2)), ("clf", LogisticRegression())]
    ).fit(x, y)


@benign("sklearn/pipeline.joblib")
def _sk_pipeline(p: Path) -> None:
    import joblib

    joblib.dump(_fit_pipeline(), p)


@benign("sklearn/pipeline_compressed.joblib")
def _sk_pipeline_z(p: Path) -> None:
    import joblib

    joblib.dump(_fit_pipeline(), p, compress=3)


@benign("sklearn/text_forest.pkl")
def _sk_forest(p: Path) -> None:
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.tree import DecisionTreeClassifier

    docs = ["good movie", "bad movie", "great film", "awful film"] * 3
    y = np.array([1, 0, 1, 0] * 3)
    pipe = make_pipeline(TfidfVectorizer(), RandomForestClassifier(n_estimators=2, random_state=0))
    pipe.fit(docs, y)
    tree = DecisionTreeClassifier(max_depth=2).fit(np.eye(4), [0, 1, 0, 1])
    p.write_bytes(
        pickle.dumps({"pipe": pipe, "tree": tree, "features": pipe[0].transform(docs[:2])})
    )


@benign("sklearn/sparse.joblib")
def _sparse(p: Path) -> None:
    import joblib
    import scipy.sparse as sp

    joblib.dump(
        {
            "csr": sp.random(5, 5, density=0.3, format="csr", random_state=0),
            "coo": sp.eye(3, format="coo"),
            "csc": sp.eye(3, format="csc"),
        },
        p,
    )


# -- safetensors / onnx -----------------------------------------------------------------------
@benign("safetensors/model.safetensors")
def _safetensors(p: Path) -> None:
    import torch
    from safetensors.torch import save_file

    save_file({"w": torch.randn(4, 4)}, str(p), metadata={"format": "pt"})


@benign("onnx/model.onnx")
def _onnx(p: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    onnx.save(helper.make_model(graph, producer_name="benign"), str(p))


# -- plain text files found in model repositories ---------------------------------------------
TEXT_FILES: dict[str, str] = {
    # 'c' is pickle's GLOBAL opcode, 'i' INST: these first lines parse as an import
    "text/labels.txt": "cat\ndog\nbird\nhorse\n",
    "text/imagenet_classes.txt": "cock\nhen\nostrich\nbrambling\ngoldfinch\n",
    "text/requirements.txt": "colorama\ntqdm\ntorch>=2.1\nnumpy\n",
    "text/requirements-dev.txt": "click\nrequests==2.32.0\n-r requirements.txt\n",
    "text/index.txt": "images\ntrain\nval\n",
    "text/vocab.txt": "[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\ncat\n",
    "text/merges.txt": "#version: 0.2\nt h\nth e\n",
    "text/README.md": "---\nlicense: mit\n---\n# tiny model\n\nUsage: `pip install x`.\n",
    "text/config.json": '{"model_type": "gpt2", "n_layer": 1}\n',
    "text/.gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n",
    "text/special_tokens_map.json": '{"unk_token": "[UNK]"}\n',
}


def _text(content: str) -> Builder:
    return lambda p: p.write_text(content, encoding="utf-8")


for _name, _content in TEXT_FILES.items():
    benign(_name)(_text(_content))


def build_benign(root: Path, only: set[str] | None = None) -> dict[str, Path]:
    """Write the corpus under ``root``; return ``{id: path}`` (directories for dcp / HF dirs)."""
    out: dict[str, Path] = {}
    for name, build in BUILDERS.items():
        if only is not None and name not in only:
            continue
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        build(path)
        out[name] = path
    return out


def benign_files(corpus: dict[str, Path]) -> dict[str, Path]:
    """Every file of the corpus (directories expanded), keyed by its path relative to its id."""
    files: dict[str, Path] = {}
    for name, path in corpus.items():
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file():
                    files[f"{name}/{f.relative_to(path).as_posix()}"] = f
        else:
            files[name] = path
    return files
