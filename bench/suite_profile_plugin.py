"""A pytest plugin for bench/bench_suite.py: per test its wall time and CPU-seconds (the worker's
own and its waited-for children's: servers, clients), per fixture its setup time, written as JSON
by every xdist worker (or the main process) to $SUITE_PROFILE_OUT/<worker>.json."""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Iterator
from typing import Any

import pytest

_tests: list[tuple[str, float, float, float, float]] = []
_fixtures: list[tuple[str, str, str, float, float]] = []


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: pytest.FixtureRequest) -> Iterator[None]:
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    module = request.node.nodeid.split("::")[0]
    _fixtures.append(
        (
            fixturedef.argname,
            fixturedef.scope,
            module,
            time.perf_counter() - wall,
            time.process_time() - cpu,
        )
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    start, cpu, children = time.time(), time.process_time(), _children_cpu()
    yield
    _tests.append(
        (
            item.nodeid,
            start,
            time.time(),
            time.process_time() - cpu,
            _children_cpu() - children,
        )
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = os.environ.get("SUITE_PROFILE_OUT")
    if not out:
        return
    os.makedirs(out, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(os.path.join(out, f"{worker}.json"), "w") as f:
        json.dump({"tests": _tests, "fixtures": _fixtures, "load": os.getloadavg()}, f)
