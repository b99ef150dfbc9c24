"""``modelvault bundle …`` end to end on two data directories (no server)."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from modelvault_jlab.cli.main import main
from tests.bundles.conftest import APACHE_CARD, Site, open_test_vault, uid


def mv(data_dir: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``modelvault bundle …`` in-process (argparse and commands as the shell runs them)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["bundle", *args, "--data-dir", str(data_dir)])
    proc = subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_cli_round_trip(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    vault = open_test_vault(a)
    repo_id = f"acme/cli-{uid()}"
    site = Site(vault, a)
    commit = site.model(repo_id, {"README.md": APACHE_CARD, "w.bin.safe": b"\0" * 100})
    site.wheel("clipkg", "2.0")
    vault.close()
    open_test_vault(b).close()
    (tmp_path / "notes.txt").write_text("hello")

    mv(a, "put-file", "notes.txt", str(tmp_path / "notes.txt"))
    out = mv(
        a,
        "create",
        "cli",
        "1.0",
        "--model",
        f"models:{repo_id}@main",
        "--package",
        "pypi:clipkg==2.0",
        "--file",
        "notes.txt",
        "--json",
    )
    created = json.loads(out.stdout)
    assert created["manifest"]["components"][0]["commit"] == commit
    mv(a, "promote", "cli", "1.0", "--to", "DEV")
    archive = tmp_path / "cli.tar"
    mv(a, "export", "cli", "1.0", "-o", str(archive))
    bom = tmp_path / "bom.json"
    mv(a, "bom", "cli", "1.0", "-o", str(bom))
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(bom.read_text()) is None
    keys = json.loads(mv(a, "keys", "--json").stdout)
    key = keys["keys"][0]["public_key"]

    # Offline verification: with the key it passes; a flipped byte fails with exit 1.
    verify = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelvault_jlab.cli",
            "bundle",
            "verify",
            str(archive),
            "--key",
            key,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr
    bad = bytearray(archive.read_bytes())
    bad[512 + 20] ^= 1  # inside the signed manifest
    (tmp_path / "bad.tar").write_bytes(bytes(bad))
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["bundle", "verify", str(tmp_path / "bad.tar"), "--key", key])
    assert code == 1 and "FAILED" in err.getvalue()

    # Import needs the key (trusted or given); then the bundle verifies in the target vault.
    mv(b, "trust", key)
    mv(b, "import", str(archive), "--hub-repository", "models", "--pypi-repository", "pypi")
    shown = json.loads(mv(b, "show", "cli", "1.0", "--json").stdout)
    assert shown["origin"] == "import" and shown["environment"] == "DEV"
    assert json.loads(mv(b, "verify", "cli", "1.0", "--json").stdout)["ok"]
    rotated = mv(a, "rotate-key").stdout.strip()
    assert rotated != keys["keys"][0]["key_id"]
    listed = json.loads(mv(a, "keys", "--json").stdout)
    assert listed["active"] == rotated and len(listed["keys"]) == 2
    assert mv(a, "list", "--environment", "DEV").stdout.startswith("cli")
    again = mv(a, "create", "cli", "1.0", "--file", "notes.txt", ok=False)
    assert again.returncode == 2 and "exists" in again.stderr
