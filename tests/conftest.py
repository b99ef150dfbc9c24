from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faulty_upstream import FaultyProxy
from tests.pg_service import postgres_cluster, postgres_url  # noqa: F401 - fixtures
from tests.s3_service import S3Service, running_s3
from tests.servers import RunningServer, running, start_jupyter, start_standalone


@pytest.fixture(autouse=True)
def _isolated_hf_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's HF cache, token or endpoint (huggingface_hub conftest style)."""
    for name in list(os.environ):
        if name.startswith(("HF_", "HUGGING_FACE_", "MODELVAULT_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("DISABLE_SAFETENSORS_CONVERSION", "1")


@pytest.fixture(scope="session")
def standalone_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One ``modelvault serve`` for the session (tests use distinct repo ids)."""
    base = tmp_path_factory.mktemp("standalone")
    with running(start_standalone(base / "vault")) as server:
        yield server


@pytest.fixture(scope="session")
def s3_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Service]:
    """One S3-compatible server (moto_server) for the session; each test uses its own bucket."""
    with running_s3(tmp_path_factory.mktemp("s3")) as service:
        yield service


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One Jupyter server with the extension, a Jupyter token and base_url /jp/."""
    base = tmp_path_factory.mktemp("jupyter")
    with running(start_jupyter(base / "vault", base / "root")) as server:
        yield server


@pytest.fixture(params=["standalone", "jupyter"])
def server(request: pytest.FixtureRequest) -> RunningServer:
    """Both hosts: every compat test runs against the standalone and the Jupyter-hosted server."""
    return request.getfixturevalue(f"{request.param}_server")  # type: ignore[no-any-return]


# Modules that measure time (latency probes, wall-clock bounds) or whose property-based tests
# share one example budget: CI runs them alone, after the rest ran on parallel workers, so another
# worker's load can neither fail nor mask them (scripts/test-all.sh: -m serial / not serial).
SERIAL_MODULES = frozenset(
    {
        "tests/governance/test_hostile_card.py",
        "tests/kernel/test_demo_notebook.py",
        "tests/replicas/test_coordination.py",
        "tests/test_egress.py",
        "tests/web/test_api_fuzz.py",
    }
)

# Single tests that measure time in modules whose other tests do not: only these run alone
# (their module's servers then start once in each group, seconds against minutes of tests
# that waited for a free machine for nothing).
SERIAL_TESTS = frozenset(
    {
        # a stalled upstream of 1.5 s must see every replica's clients arrive; a bound of 10 s
        "tests/replicas/test_replicas.py::test_cold_downloads_split_over_both_replicas_fetch_upstream_once",
        "tests/replicas/test_replicas.py::test_a_killed_replica_leaves_nothing_half_visible_and_its_lease_is_taken_over",
        # a bound of 5 s; a latency probe against its own baseline
        "tests/web/test_bounded_requests.py::test_lfs_batch_sizes",
        "tests/web/test_bounded_requests.py::test_hostile_requests_do_not_stall_the_server",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(str(config.rootpath))
    for item in items:
        module = Path(str(item.path)).relative_to(root).as_posix()
        name = getattr(item, "originalname", item.name)  # without parameters
        if module in SERIAL_MODULES or f"{module}::{name}" in SERIAL_TESTS:
            item.add_marker(pytest.mark.serial)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """With MODELVAULT_FAIL_ON_SKIP=1 (CI), a skipped test is a failure: a missing test
    dependency must never pass silently."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if (
        report.skipped
        and os.environ.get("MODELVAULT_FAIL_ON_SKIP") == "1"
        and not hasattr(report, "wasxfail")
    ):
        report.outcome = "failed"
        report.longrepr = f"skipped, which CI counts as a failure: {report.longrepr}"


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A vault that remote repositories use as their upstream (one per test module)."""
    with running(start_standalone(tmp_path_factory.mktemp("upstream") / "vault")) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(upstream: RunningServer) -> Iterator[FaultyProxy]:
    """The misbehaving proxy in front of ``upstream`` (remote repositories point at it)."""
    p = FaultyProxy(upstream.url.rstrip("/"))
    yield p
    p.close()
