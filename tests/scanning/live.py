"""Prove that a bypass sample is live: its payload runs when the normal loader opens it.

A sample's payload writes a marker file (see ``marker_command``). The loader runs in a fresh
Python subprocess with a scratch working directory, no network-relevant environment, a short
timeout and address-space/CPU limits, so a sample can only touch its own scratch folder.
The scanner itself never loads anything; only these tests do, and only inside the sandbox.
``payloads_run`` opens many samples with one loader in one subprocess (one torch import, not
one per sample); each sample still gets its own scratch folder as working directory.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MARKER = "PWNED_MARKER"

# Loader snippets: each gets the sample's path as sys.argv[1], inside the sandbox's cwd.
LOADERS: dict[str, str] = {
    "pickle": "import pickle,sys; pickle.load(open(sys.argv[1],'rb'))",
    "torch": "import torch,sys; torch.load(sys.argv[1], weights_only=False)",
    "numpy": "import numpy,sys; numpy.load(sys.argv[1], allow_pickle=True)",
    "numpy-npz": (
        "import numpy,sys\n"
        "with numpy.load(sys.argv[1], allow_pickle=True) as z:\n"
        "    [z[k] for k in z.files]"
    ),
    "joblib": "import joblib,sys; joblib.load(sys.argv[1])",
}

# Runs each (loader snippet, target) pair of the JSON list in argv[1], from the target's folder;
# a sample whose load raises does not stop the others.
_RUNNER = """
import json, os, sys
for code, target in json.loads(sys.argv[1]):
    os.chdir(os.path.dirname(target))
    sys.argv = [sys.argv[0], target]
    try:
        exec(compile(code, "<loader>", "exec"), {"__name__": "__main__"})
    except BaseException:
        pass
"""

Sample = bytes | Path | tuple[str, bytes, dict[str, bytes]]


def marker_command() -> str:
    """Shell-free Python statement a payload runs: creates ``MARKER`` in the cwd."""
    return f"open({MARKER!r},'w').write('1')"


def _limits() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_CPU, (60, 60))
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def _place(sample: Sample, work: Path, name: str) -> Path:
    """Write or copy ``sample`` into ``work``; return what the loader opens."""
    if isinstance(sample, tuple):  # (file name, bytes, companions): the loader gets their folder
        fname, data, companions = sample
        bundle = work / "bundle"
        bundle.mkdir()
        for cname, cdata in {fname: data, **companions}.items():
            (bundle / cname).write_bytes(cdata)
        return bundle
    if isinstance(sample, bytes):
        target = work / name
        target.write_bytes(sample)
    elif sample.is_dir():
        target = work / sample.name
        shutil.copytree(sample, target)
    else:
        target = work / sample.name
        shutil.copyfile(sample, target)
    return target


def payloads_run(loader: str, samples: dict[str, Sample], *, name: str = "sample.bin") -> set[str]:
    """Open every sample with ``loader`` (a key of LOADERS or a snippet) in one sandboxed
    subprocess; return the keys of the samples whose payload wrote the marker.

    A sample is bytes (written as ``name``), a path to a file or folder (copied first), or
    ``(file name, bytes, companions)``: a folder holding the file and its companions, which the
    loader receives as ``sys.argv[1]``.
    """
    return loads_run({key: (loader, sample) for key, sample in samples.items()}, name=name)


def loads_run(loads: dict[str, tuple[str, Sample]], *, name: str = "sample.bin") -> set[str]:
    """Like :func:`payloads_run`, each sample with its own loader, all in one subprocess."""
    with tempfile.TemporaryDirectory(prefix="mv-live-") as scratch:
        root = Path(scratch)
        pairs: list[tuple[str, str]] = []
        targets: dict[str, Path] = {}
        for i, (key, (loader, sample)) in enumerate(loads.items()):
            work = root / f"s{i}"
            work.mkdir()
            targets[key] = _place(sample, work, name)
            pairs.append((LOADERS.get(loader, loader), str(targets[key])))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(root),
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
        }
        subprocess.run(
            [sys.executable, "-c", _RUNNER, json.dumps(pairs)],
            cwd=root,
            env=env,
            capture_output=True,
            timeout=240,
            preexec_fn=_limits,  # single-threaded test process: preexec_fn is safe
            check=False,
        )
        # each loader ran from its target's folder, where its payload writes the marker
        return {key for key, t in targets.items() if (t.parent / MARKER).exists()}


def payload_runs(loader: str, sample: bytes | Path, *, name: str = "sample.bin") -> bool:
    """Open ``sample`` with ``loader`` (a key of LOADERS or a snippet); True if the marker appeared.

    ``sample`` may be bytes (written as ``name``) or a path to a file or folder, copied into the
    sandbox first so the original stays untouched.
    """
    return bool(payloads_run(loader, {"sample": sample}, name=name))
