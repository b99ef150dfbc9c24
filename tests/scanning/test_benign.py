"""False positives: ordinary files written by the real libraries scan clean, and the allow-list
additions that make them clean do not open a door (what must stay denied stays denied)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import torch

from modelvault_jlab.core.scanning import ScanEngine, Severity, Verdict
from modelvault_jlab.core.scanning.allowlist import GlobalPolicy, reviewed_entries

from . import payloads as p
from .benign import BUILDERS, benign_files, build_benign
from .corpus import _torch_zip
from .live import MARKER, payload_runs


@pytest.fixture(scope="session")
def benign_corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_benign(tmp_path_factory.mktemp("benign"))


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_ordinary_file_scans_clean(engine: ScanEngine, benign_corpus, name: str):
    files = benign_files({name: benign_corpus[name]})
    assert files
    for rel, path in files.items():
        report = engine.scan_file(path, name_hint=rel)
        flagged = [f for f in report.findings if f.severity is not Severity.INFO]
        assert report.verdict is Verdict.CLEAN, (rel, report.format, flagged)


def test_corpus_is_large_and_varied(benign_corpus):
    files = benign_files(benign_corpus)
    assert len(files) >= 40
    for group in ("torch/", "sklearn/", "tokenizers/", "transformers/", "text/", "joblib/"):
        assert any(k.startswith(group) for k in files), group


# -- the allow-list stays an allow-list ---------------------------------------------------------
MUST_STAY_DENIED = [
    "builtins.getattr",
    "builtins.__import__",
    "builtins.eval",
    "operator.attrgetter",
    "operator.methodcaller",
    "importlib.import_module",
    "functools.reduce",
    "types.FunctionType",
    "types.CodeType",
    "uuid._get_command_stdout",
    "torch.load",
    "torch.hub.load",
    "torch.jit.load",
    "torch.jit._load_for_lite_interpreter",
    "torch.distributed.rpc.rpc_sync",
    "torch._C._jit_pass_lint",
    "numpy.load",
    "pickle.loads",
    "joblib.load",
    "argparse.ArgumentParser.parse_args",
    "pathlib.Path.read_text",
    "pathlib.PosixPath.write_text",
]


@pytest.mark.parametrize("dotted", MUST_STAY_DENIED)
def test_dangerous_neighbours_of_allowed_names_stay_denied(dotted: str):
    module, name = dotted.rsplit(".", 1)
    verdict = GlobalPolicy.default().judge(module, name)
    assert not verdict.allowed, dotted
    assert verdict.severity is Severity.MALICIOUS, (dotted, verdict.reason)


@pytest.mark.parametrize(
    "dotted",
    [
        "sklearn.datasets.fetch_openml",
        "scipy.sparse.load_npz",
        "tokenizers.Tokenizer.from_file",
        "tokenizers.models.WordPiece",  # WordPiece("/etc/hostname") reads the file
        "tokenizers.models.BPE",
    ],
)
def test_unlisted_functions_of_allowed_libraries_are_not_allowed(dotted: str):
    module, name = dotted.rsplit(".", 1)
    assert not GlobalPolicy.default().judge(module, name).allowed


def test_every_reviewed_entry_is_argued_and_resolves():
    import importlib

    for entry in reviewed_entries():
        assert len(entry.why) >= 40 and entry.seen_in
        for dotted in entry.globals:
            module, name = dotted.rsplit(".", 1)
            if module.startswith("pathlib._local"):
                continue  # Python >= 3.13 spelling
            assert hasattr(importlib.import_module(module), name), dotted  # typo guard


def test_partial_of_a_denied_callable_is_still_malicious(scan):
    data = (
        p.proto(4)
        + p.global_("functools", "partial")
        + p.global_("os", "system")
        + p.su("id")
        + p.TUPLE2
        + p.REDUCE
        + p.EMPTY_TUPLE
        + p.REDUCE
        + p.STOP
    )
    report = scan.bytes(data)
    assert report.verdict is Verdict.MALICIOUS
    assert "pickle-indirect-call" in p.rules(report)


# -- text that starts like a pickle -------------------------------------------------------------
def test_text_that_reads_as_a_failing_pickle_prefix_is_text(scan):
    report = scan.bytes(b"cat\ndog\nbird\n", name_hint="labels.txt")
    assert report.verdict is Verdict.CLEAN and report.format == "text"


def test_a_real_protocol0_pickle_named_txt_is_still_caught(scan):
    data = b"cos\nsystem\n(S'id'\ntR."
    assert scan.bytes(data, name_hint="labels.txt").verdict is Verdict.MALICIOUS


def test_text_whose_prefix_calls_before_failing_stays_a_pickle(scan):
    # REDUCE runs before the parse error: the unpickler has called something by then
    data = b"cmytools\nrun_it\n(S'id'\ntRb garbage\n"
    report = scan.bytes(data, name_hint="notes.txt")
    assert report.verdict is not Verdict.CLEAN


def test_text_whose_walk_stops_on_an_operand_stays_a_pickle(scan):
    # the walker rejects "I0x10"; if CPython read on, REDUCE would call mytools.evil: not text
    report = scan.bytes(b"cmytools\nevil\nI0x10\n(S'id'\ntR.", name_hint="a.txt")
    assert report.format == "pickle" and report.verdict is not Verdict.CLEAN


def test_text_importing_a_denied_name_is_flagged(scan):
    assert scan.bytes(b"cos\nsystem\nhello\n", name_hint="x.txt").verdict is Verdict.MALICIOUS


# -- TorchScript --------------------------------------------------------------------------------
class _WritesOnLoad(torch.nn.Module):
    """TorchScript __setstate__ runs inside torch.jit.load: here it writes the marker file."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.ones(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.w

    @torch.jit.export
    def __getstate__(self) -> tuple[torch.Tensor, bool]:
        return (self.w, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[torch.Tensor, bool]) -> None:
        self.w = state[0]
        self.training = state[1]
        torch.save(self.w, "PWNED_MARKER")


def test_torchscript_that_writes_a_file_on_load_is_live_and_flagged(scan, tmp_path):
    assert MARKER == "PWNED_MARKER"
    path = tmp_path / "model.pt"
    torch.jit.save(torch.jit.script(_WritesOnLoad()), str(path))
    assert payload_runs("torch", path.read_bytes(), name="model.pt")
    report = scan.file(path)
    assert report.verdict is Verdict.SUSPICIOUS
    assert any(
        f.rule == "torchscript-risky-op" and f.global_ == "torch.save" for f in report.findings
    ), report.findings


def _rewrite_member(data: bytes, suffix: str, edit) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            dst.writestr(info, edit(body) if info.filename.endswith(suffix) else body)
    return out.getvalue()


@pytest.mark.parametrize(
    "code",
    [
        b"torch.from_file('/etc/passwd', False, 100)",
        b"ops.evil_lib.run('x')",
        b"torch.ops.aten.set_(x, y)",
    ],
)
def test_torchscript_risky_operators_are_flagged(scan, tmp_path, code: bytes):
    path = tmp_path / "s.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(path))
    data = _rewrite_member(
        path.read_bytes(),
        ".py",
        lambda body: body + b"\ndef _extra(x: Tensor) -> Tensor:\n  " + code + b"\n  return x\n",
    )
    report = scan.bytes(data, name_hint="s.pt")
    assert "torchscript-risky-op" in p.rules(report), report.findings


def test_torch_names_outside_torchscript_archives_stay_unknown(scan):
    # without constants.pkl torch.load unpickles data.pkl in Python: __torch__ is no class there
    pkl = p.proto(2) + p.global_("__torch__.M", "M") + p.EMPTY_TUPLE + p.REDUCE + p.STOP
    report = scan.bytes(_torch_zip(pkl), name_hint="m.pt")
    assert report.verdict is not Verdict.CLEAN


# -- torch.distributed.checkpoint shards --------------------------------------------------------
def _split_shard(data: bytes) -> list[bytes]:
    parts, start = [], 0
    while start < len(data):
        end = data.index(b"PK\x05\x06", start) + 22
        parts.append(data[start:end])
        start = end
    return parts


def test_malicious_archive_inside_a_dcp_shard_is_caught(scan, benign_corpus):
    shard = (benign_corpus["torch/distributed_checkpoint"] / "__0_0.distcp").read_bytes()
    parts = _split_shard(shard)
    assert len(parts) > 2 and b"".join(parts) == shard
    evil = _torch_zip(p.os_system())
    report = scan.bytes(b"".join([*parts[:2], evil, *parts[2:]]), name_hint="__0_0.distcp")
    assert report.format == "zip-sequence"
    assert report.verdict is Verdict.MALICIOUS, report.findings


def test_dcp_shard_with_a_gap_is_not_a_sequence(scan, benign_corpus):
    shard = (benign_corpus["torch/distributed_checkpoint"] / "__0_0.distcp").read_bytes()
    parts = _split_shard(shard)
    report = scan.bytes(parts[0] + b"\x00junk" + b"".join(parts[1:]), name_hint="__0_0.distcp")
    assert report.format != "zip-sequence"
    assert report.verdict is not Verdict.CLEAN
