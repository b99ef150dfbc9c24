"""The activity registry on its own: tracked operations, failures kept for a while, visibility."""

from __future__ import annotations

from typing import Any

import pytest

from modelvault_jlab.core.activity import Activity
from modelvault_jlab.errors import PermissionDeniedError, UpstreamUnavailableError


class Readers:
    """An access policy: ``who.name`` may read the repositories listed for it (None: all)."""

    def __init__(self, grants: dict[str, set[str | None]]) -> None:
        self.grants = grants

    def require(self, who: Any, action: str, repository: str | None) -> None:
        allowed = self.grants.get(who.name, set())
        if None not in allowed and repository not in allowed:
            raise PermissionDeniedError("no")


class NoFlights:
    def __init__(self) -> None:
        self.on_finish: list[Any] = []

    def snapshot(self) -> list[Any]:
        return []


def _who(name: str) -> Any:
    return type("P", (), {"name": name})()


@pytest.fixture
def clock() -> list[float]:
    return [1000.0]


def _registry(clock: list[float]) -> Activity:
    access = Readers({"admin": {None}, "alice": {"models"}})
    return Activity(access, NoFlights(), lambda: clock[0], keep_failed_seconds=60)  # type: ignore[arg-type]


def test_tracked_operation_progress_and_visibility(clock: list[float]) -> None:
    activity = _registry(clock)
    with activity.track("export", ((None, "rel@1.0"),), total=30) as progress:
        for _ in progress.counting(iter([b"a" * 10, b"b" * 10])):
            pass
        [(op, target)] = activity.list(_who("admin"))
        assert (op.kind, target, op.bytes_done, op.total, op.state) == (
            "export",
            (None, "rel@1.0"),
            20,
            30,
            "running",
        )
        assert activity.list(_who("alice")) == []  # vault-wide: needs global read
    assert activity.list(_who("admin")) == []  # done: gone


def test_failures_stay_listed_then_expire(clock: list[float]) -> None:
    activity = _registry(clock)
    targets = (("secret", "a/x"), ("models", "b/x"))
    with pytest.raises(UpstreamUnavailableError), activity.track("transfer", targets):
        raise UpstreamUnavailableError("upstream broke off")
    with activity.track("export", ((None, "rel@2"),)) as progress:
        progress.fail("cut short")
    ops = activity.list(_who("admin"))
    assert [(o.state, o.message) for o, _ in ops] == [
        ("failed", "upstream broke off"),
        ("failed", "cut short"),
    ]
    # alice reads only "models": she sees the transfer under that repository, not the export.
    [(op, target)] = activity.list(_who("alice"))
    assert target == ("models", "b/x") and op.state == "failed"
    clock[0] += 61
    assert activity.list(_who("admin")) == []
