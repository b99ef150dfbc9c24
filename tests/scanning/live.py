"""Prove that a bypass sample is live: its payload runs when the normal loader opens it.

A sample's payload writes a marker file (see ``marker_command``). The loader runs in a fresh
Python subprocess with a scratch working directory, no network-relevant environment, a short
timeout and address-space/CPU limits, so a sample can only touch its own scratch folder.
The scanner itself never loads anything; only these tests do, and only inside the sandbox.
"""

from __future__ import annotations

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


def marker_command() -> str:
    """Shell-free Python statement a payload runs: creates ``MARKER`` in the cwd."""
    return f"open({MARKER!r},'w').write('1')"


def _limits() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_CPU, (60, 60))
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def payload_runs(loader: str, sample: bytes | Path, *, name: str = "sample.bin") -> bool:
    """Open ``sample`` with ``loader`` (a key of LOADERS or a snippet); True if the marker appeared.

    ``sample`` may be bytes (written as ``name``) or a path to a file or folder, copied into the
    sandbox first so the original stays untouched.
    """
    code = LOADERS.get(loader, loader)
    with tempfile.TemporaryDirectory(prefix="mv-live-") as scratch:
        work = Path(scratch)
        if isinstance(sample, bytes):
            target = work / name
            target.write_bytes(sample)
        elif sample.is_dir():
            target = work / sample.name
            shutil.copytree(sample, target)
        else:
            target = work / sample.name
            shutil.copyfile(sample, target)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(work),
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
        }
        subprocess.run(
            [sys.executable, "-c", code, str(target)],
            cwd=work,
            env=env,
            capture_output=True,
            timeout=120,
            preexec_fn=_limits,  # the test process is single-threaded here
            check=False,
        )
        return (work / MARKER).exists()
