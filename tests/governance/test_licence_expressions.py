"""Licence expressions are evaluated, not matched as strings: the table below is what the
licence policy decides for Hub cards and Python core metadata, and what the precedence rule
(a policy's action bounds every parameter) makes of each case."""

from __future__ import annotations

from typing import Any

import pytest

from modelvault_jlab.core.governance.policy.engine import (
    DEFAULT_POLICIES,
    Policy,
    license_violations,
)
from modelvault_jlab.core.governance.policy.licenses import (
    license_of_card,
    license_of_core_metadata,
)
from modelvault_jlab.errors import InvalidInputError

POLICY = Policy(
    "approved-licenses",
    "license",
    "block",
    {
        "allow": ["MIT", "Apache-2.0", "bsd-3-clause", "GPL-2.0-only WITH Classpath-exception-2.0"],
        "deny": ["GPL-3.0-only", "agpl-3.0", "LicenseRef-hf-llama3", "CC-BY-NC-4.0"],
        "unlicensed": "block",
        "not_allowed": "warn",
    },
)


def verdict(licence: Any, policy: Policy = POLICY, **card: Any) -> str:
    """``ok``, or the action of the single violation and what it is about."""
    info = license_of_card({"license": licence, **card} if licence is not None else card)
    found = license_violations([policy], info, "model m")
    assert len(found) <= 1
    if not found:
        return "ok"
    v = found[0]
    kind = (
        "denied"
        if "denied" in v.reason
        else "unapproved"
        if "approved list" in v.reason
        else "unlicensed"
    )
    return f"{v.action}:{kind}"


@pytest.mark.parametrize(
    ("licence", "expected"),
    [
        ("MIT", "ok"),
        ("mit", "ok"),  # ids compare case-insensitively
        ("apache-2.0", "ok"),  # the Hub's lower-case id
        ("GPL-3.0-only", "block:denied"),
        ("gpl-3.0", "block:denied"),  # Hub id = deprecated SPDX id = GPL-3.0-only
        ("GPL-3.0", "block:denied"),
        ("MIT AND GPL-3.0-only", "block:denied"),  # AND: every licence applies
        ("GPL-3.0-only AND MIT", "block:denied"),
        ("GPL-3.0-only OR MIT", "ok"),  # OR: one approved choice is enough
        ("MIT OR GPL-3.0-only", "ok"),
        ("GPL-3.0-only OR AGPL-3.0-only", "block:denied"),  # every choice denied
        ("GPL-3.0-only OR MPL-2.0", "warn:unapproved"),  # MPL-2.0 is a choice, not approved
        ("MIT AND MPL-2.0", "warn:unapproved"),
        ("mit and (apache-2.0 or gpl-3.0-only)", "ok"),
        ("(MIT OR GPL-3.0-only) AND AGPL-3.0-only", "block:denied"),
        # WITH: the combination's own entry first, else its base licence
        ("GPL-2.0-only WITH Classpath-exception-2.0", "ok"),
        ("GPL-3.0-only WITH GCC-exception-3.1", "block:denied"),
        ("MIT WITH Classpath-exception-2.0", "ok"),
        ("MPL-2.0 WITH Classpath-exception-2.0", "warn:unapproved"),
        # Hub ids without an SPDX id are kept as LicenseRef-hf-…
        ("llama3", "block:denied"),
        ("LLAMA3", "block:denied"),
        ("openrail++", "warn:unapproved"),
        ("No-Such-Licence-1.0", "warn:unapproved"),  # an id-like unknown: a custom licence
        ("cc-by-nc-4.0", "block:denied"),
        ("LicenseRef-hf-llama3", "block:denied"),
        ("licenseref-HF-Llama3", "block:denied"),
        # license-expression would alias this custom ref to Apache-2.0: it must stay custom
        ("LicenseRef-Apache-2.0", "warn:unapproved"),
        # a list: the repo is under all of them
        (["mit", "apache-2.0"], "ok"),
        (["mit", "gpl-3.0"], "block:denied"),
        (["mit", "mpl-2.0"], "warn:unapproved"),
        # nothing declared, or nothing readable: the unlicensed effect (fail closed)
        (None, "block:unlicensed"),
        ("unknown", "block:unlicensed"),
        ("", "block:unlicensed"),
        ("MIT AND", "block:unlicensed"),
        ("(MIT", "block:unlicensed"),
        ("MIT WITH Apache-2.0", "block:unlicensed"),
        ("My own licence", "block:unlicensed"),
        ("MIT " + "AND MIT " * 400, "block:unlicensed"),  # longer than any real licence
        (5, "block:unlicensed"),
        ([["mit"]], "block:unlicensed"),
    ],
)
def test_card_licence_table(licence: Any, expected: str) -> None:
    assert verdict(licence) == expected


def test_other_with_license_name_is_a_hub_licence_ref() -> None:
    info = license_of_card(
        {"license": "other", "license_name": "Tongyi Qianwen", "license_link": "L"}
    )
    assert str(info.expression) == "LicenseRef-hf-Tongyi-Qianwen" and info.link == "L"
    denying = Policy("p", "license", "block", {"deny": ["LicenseRef-hf-tongyi-qianwen"]})
    assert license_violations([denying], info, "m")[0].action == "block"
    assert str(license_of_card({"license": "other"}).expression) == "LicenseRef-hf-other"


def test_empty_allow_list_approves_what_is_not_denied() -> None:
    p = Policy("p", "license", "block", {"deny": ["GPL-3.0-only"]})
    assert verdict("MPL-2.0", p) == "ok"
    assert verdict("GPL-3.0-only WITH GCC-exception-3.1", p) == "block:denied"
    assert verdict("MIT AND GPL-3.0-or-later", p) == "ok"  # or-later is another licence


@pytest.mark.parametrize(
    ("action", "params", "licence", "expected"),
    [
        # the precedence rule: the action bounds every parameter's effect
        ("audit", {"unlicensed": "block"}, None, "audit:unlicensed"),
        ("audit", {"deny": ["GPL-3.0-only"]}, "GPL-3.0-only", "audit:denied"),
        ("warn", {"unlicensed": "block"}, None, "warn:unlicensed"),
        ("warn", {"allow": ["MIT"], "not_allowed": "block"}, "MPL-2.0", "warn:unapproved"),
        ("block", {"unlicensed": "audit"}, None, "audit:unlicensed"),
        ("block", {"allow": ["MIT"], "not_allowed": "block"}, "MPL-2.0", "block:unapproved"),
        ("block", {"allow": ["MIT"]}, "MPL-2.0", "block:unapproved"),  # default: the action
    ],
)
def test_action_bounds_every_parameter(
    action: str, params: dict[str, Any], licence: Any, expected: str
) -> None:
    p = Policy.from_dict({"name": "p", "kind": "license", "action": action, "params": params})
    assert verdict(licence, p) == expected


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        # PEP 639 License-Expression first, whatever else is there
        (
            "License-Expression: GPL-3.0-only OR MIT\nClassifier: License :: OSI Approved :: "
            "GNU General Public License v3 (GPLv3)\nLicense: GPL\n",
            "GPL-3.0-only OR MIT",
        ),
        ("License-Expression: mit and apache-2.0\n", "MIT AND Apache-2.0"),
        ("License-Expression: MIT AND\nLicense: MIT\n", None),  # invalid: not a fallback
        # then trove classifiers (all of them apply), then the legacy License field
        (
            "Classifier: License :: OSI Approved :: MIT License\n"
            "Classifier: License :: OSI Approved :: Apache Software License\nLicense: GPL\n",
            "MIT AND Apache-2.0",
        ),
        ("Classifier: License :: OSI Approved\nLicense: BSD-3-Clause\n", "BSD-3-Clause"),
        ("License: Apache-2.0\n", "Apache-2.0"),
        ("License: Apache 2.0\n", "LicenseRef-Apache-2.0"),
        ("License: UNKNOWN\n", ""),
        ("License: " + "x" * 200 + "\n", ""),  # licence text, not an id
        ("", ""),
    ],
)
def test_core_metadata_precedence(metadata: str, expected: str | None) -> None:
    info = license_of_core_metadata("Metadata-Version: 2.4\nName: p\nVersion: 1\n" + metadata)
    if expected is None:
        assert info.error and not info.unlicensed
    elif expected == "":
        assert info.unlicensed
    else:
        assert str(info.expression) == expected


def test_default_policies_are_valid() -> None:
    for p in DEFAULT_POLICIES:
        assert Policy.from_dict(p.to_dict()) == p
        assert p.summary()


def test_packages_are_judged_by_their_expression() -> None:
    text = "Metadata-Version: 2.4\nName: p\nVersion: 1\nLicense-Expression: MIT AND GPL-3.0-only\n"
    found = license_violations([POLICY], license_of_core_metadata(text), "package p")
    assert [v.action for v in found] == ["block"] and "GPL-3.0-only" in found[0].reason


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        ({"name": "x", "kind": "license", "params": {"unlicenced": "audit"}}, "unknown parameter"),
        ({"name": "x", "kind": "license", "params": {"unlicensed": "allow"}}, "'unlicensed'"),
        ({"name": "x", "kind": "license", "params": {"allow": "MIT"}}, "list of strings"),
        ({"name": "x", "kind": "license", "params": {"allow": ["MIT OR GPL-3.0-only"]}}, "one"),
        ({"name": "x", "kind": "license", "params": {"deny": ["Apache 2"]}}, "'deny'"),
        ({"name": "x", "kind": "scan", "params": {"block": ["evil"]}}, "'block'"),
        ({"name": "x", "kind": "scan", "params": {"repository_kinds": ["hf"]}}, "kinds"),
        ({"name": "x", "kind": "license", "actoin": "audit"}, "unknown field"),
        ({"name": "x", "kind": "license", "action": "deny"}, "'action'"),
    ],
)
def test_policy_validation(policy: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidInputError, match=reason):
        Policy.from_dict(policy)
