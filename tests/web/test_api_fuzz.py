"""The JSON API fuzzed with schemathesis against its own description, on a running server.

Every answer must match the description (status, content type, body schema) and none may be a
500. The server is this module's own (the fuzzer changes policies, deletes repositories and
revokes things; the session's shared server must not see that), seeded with one of everything so
that the described examples reach real objects. Bounded and deterministic: a fixed seed, a few
examples per operation, reads first and writes after.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from schemathesis import Case

from modelvault_jlab.web.openapi import load_spec
from tests.bundles.conftest import APACHE_CARD
from tests.pypi.dists import wheel_bytes, wheel_name
from tests.servers import RunningServer, running, start_standalone

CONFIG = """
seed = 20261207
suppress-health-check = ["all"]

[generation]
mode = "all"
max-examples = 15
deterministic = true
with-security-parameters = false

# Not every rule fits a schema (a digest must match the body, a key must be Ed25519, a
# virtual repository needs members): a precise 4xx to schema-valid data is fine; a 5xx is not.
[checks.positive_data_acceptance]
enabled = false

# Malformed data may get a default instead of a 400 (an empty `limit` is the default page, an
# unknown `all` is false); what counts is no 5xx and every answer in a described shape.
[checks.negative_data_rejection]
enabled = false

[phases.coverage]
enabled = false

[phases.stateful]
enabled = false
"""

# A bundle archive is bytes like any other to the fuzzer (the server must refuse them precisely).
schemathesis.serializer.alias("application/x-tar", "application/octet-stream")

CONFIG_FILE = b'{"model_type": "bert"}'


def _seed(server: RunningServer, home: Path) -> None:
    """One of everything the API shows: a Hub repo with files, a wheel, a generic file, a bundle,
    a waiver and a download (lineage); ``EXAMPLES`` name them."""
    headers = server.headers()
    r = httpx.post(
        server.api("repositories"), json={"key": "pypi", "kind": "pypi-local"}, headers=headers
    )
    assert r.status_code == 201, r.text
    api = HfApi(endpoint=server.hf_endpoint(), token=server.admin_token)
    api.create_repo("acme/tiny")
    api.create_commit(
        "acme/tiny",
        [
            CommitOperationAdd("README.md", APACHE_CARD),
            CommitOperationAdd("config.json", CONFIG_FILE),
        ],
        commit_message="v1",
    )
    hf_hub_download(
        "acme/tiny",
        "config.json",
        endpoint=server.hf_endpoint(),
        token=server.admin_token,
        cache_dir=home / "hf",
    )
    r = httpx.post(
        f"{server.url}modelvault/pypi/pypi/",
        data={
            ":action": "file_upload",
            "protocol_version": "1",
            "name": "demo-pkg",
            "version": "1.0.0",
        },
        files={"content": (wheel_name("demo-pkg", "1.0.0"), wheel_bytes("demo-pkg", "1.0.0"))},
        auth=("__token__", server.admin_token),
    )
    assert r.status_code == 200, r.text
    r = httpx.put(server.api("files/notes.txt"), content=b"accuracy 0.91\n", headers=headers)
    assert r.status_code == 201, r.text
    bundle = {
        "name": "demo",
        "version": "1.0.0",
        "components": [
            {"kind": "hub", "repository": "models", "repo_id": "acme/tiny"},
            {"kind": "package", "repository": "pypi", "name": "demo-pkg", "version": "1.0.0"},
            {"kind": "file", "name": "notes.txt"},
        ],
    }
    r = httpx.post(server.api("bundles"), json=bundle, headers=headers, timeout=60)
    assert r.status_code == 201, r.text
    waiver = {
        "policy": "custom-code",
        "repo_id": "acme/tiny",
        "repo_type": "model",
        "justification": "reviewed by hand",
        "expires_in_seconds": 3600,
    }
    r = httpx.post(server.api("waivers"), json=waiver, headers=headers)
    assert r.status_code == 201, r.text
    assert str(r.json()["id"]) == EXAMPLES["waiver_id"]


EXAMPLES = {"sha256": hashlib.sha256(CONFIG_FILE).hexdigest(), "waiver_id": "1"}
"""Examples that name what ``_seed`` stores (the description's own examples name the rest)."""


def _with_examples(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    for item in spec["paths"].values():
        for param in item.get("parameters", []):
            if param.get("name") in EXAMPLES:
                param["example"] = EXAMPLES[param["name"]]
    return spec


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    base = tmp_path_factory.mktemp("fuzz")
    with running(start_standalone(base / "vault")) as server:
        _seed(server, base)
        yield server


# The packaged description (test_openapi.py checks that the server serves the same); loaded at
# import because schemathesis makes one test per operation at collection time.
schema = schemathesis.openapi.from_dict(
    _with_examples(load_spec()), config=schemathesis.Config.from_str(CONFIG)
)


def _call(case: Case, server: RunningServer) -> None:
    case.call_and_validate(
        base_url=server.api("").rstrip("/"), headers=server.headers(), timeout=60
    )


# Inside Jupyter: the same answers to the logged-in user (the Jupyter token here). Reads only,
# since the Jupyter server is the session's shared one, and schema-valid requests only: a URL
# that matches no route is Jupyter's own HTML 404 page, outside this API.
jupyter_schema = schemathesis.openapi.from_dict(
    _with_examples(load_spec()),
    config=schemathesis.Config.from_str(
        CONFIG.replace('mode = "all"', 'mode = "positive"').replace(
            "max-examples = 15", "max-examples = 5"
        )
    ),
)


@jupyter_schema.include(method="GET").parametrize()
def test_reads_match_the_description_in_jupyter(case: Case, jupyter_server: RunningServer) -> None:
    response = case.call_and_validate(
        base_url=jupyter_server.api("").rstrip("/"),
        headers={"Authorization": f"token {jupyter_server.jupyter_token}"},
        timeout=60,
    )
    if case.path == "/info":  # the requests are the logged-in user's, not anonymous ones
        assert response.json()["user"] is not None


# Tests run in file order: the explicit ones, the reads and the writes see the seeded objects;
# the fuzzed deletes come last.


@pytest.mark.parametrize(
    "path",
    [
        "audit",
        "violations",
        "lineage?mine=1",
        "repositories/models/hub",
        "repositories/models/hub/models/acme/tiny/files",
    ],
)
def test_page_sizes_from_the_query_are_clamped(fuzzed: RunningServer, path: str) -> None:
    """A negative limit is not "no limit" and a huge one neither overflows nor allocates."""
    sep = "&" if "?" in path else "?"
    for limit in ("-1", "0", str(10**30), str(-(10**30))):
        r = httpx.get(fuzzed.api(f"{path}{sep}limit={limit}"), headers=fuzzed.headers())
        assert r.status_code == 200, (limit, r.text)
        body = r.json()
        items = next(v for k, v in body.items() if k in ("events", "fetches", "repos", "files"))
        assert len(items) <= (1 if limit.startswith(("-", "0")) else 1000), (limit, body)


def test_audit_cursor_out_of_range_is_a_precise_400(fuzzed: RunningServer) -> None:
    for before in (str(2**63), "-1"):
        r = httpx.get(fuzzed.api(f"audit?before={before}"), headers=fuzzed.headers())
        assert r.status_code == 400 and r.json()["code"] == "InvalidInput", r.text


def test_hub_commit_page_number_is_bounded(fuzzed: RunningServer) -> None:
    """The same class on the Hub route (not described here): a page number reaching SQL."""
    url = f"{fuzzed.hf_endpoint()}/api/models/acme/tiny/commits/main"
    for page in (str(10**20), "-1"):
        r = httpx.get(f"{url}?p={page}", headers=fuzzed.headers())
        assert r.status_code == 400, r.text
    assert httpx.get(f"{url}?p=1000", headers=fuzzed.headers()).json() == []


@schema.include(method="GET").parametrize()
def test_reads_match_the_description(case: Case, fuzzed: RunningServer) -> None:
    _call(case, fuzzed)


@schema.include(method=["POST", "PUT", "PATCH"]).parametrize()
def test_writes_match_the_description(case: Case, fuzzed: RunningServer) -> None:
    _call(case, fuzzed)


def test_the_examples_reached_the_success_paths(fuzzed: RunningServer) -> None:
    """The described examples name real objects, so the fuzzer saw the 2xx answers too, not
    only errors: the example promotion moved the seeded bundle to DEV."""
    r = httpx.get(fuzzed.api("bundles/demo/1.0.0"), headers=fuzzed.headers())
    assert r.status_code == 200, r.text
    assert r.json()["environment"] == "DEV"


@schema.include(method="DELETE").parametrize()
def test_deletes_match_the_description(case: Case, fuzzed: RunningServer) -> None:
    _call(case, fuzzed)
