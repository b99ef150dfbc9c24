"""The model-page link in ``%modelvault`` output: built from the listing, escaped, optional."""

from __future__ import annotations

from modelvault_jlab.magics.display import Table
from modelvault_jlab.magics.page_link import page_link_html, page_ref


def test_link_names_repository_type_and_repo_id() -> None:
    ref = page_ref({"repository": "models", "repo_type": "model", "repo_id": "acme/bert"})
    assert ref == ("models", "model", "acme/bert")
    table = Table("files", ("path",), [("README.md",)], page=ref)
    assert 'href="#modelvault-page/models/model/acme/bert"' in table._repr_html_()


def test_hostile_names_are_quoted_and_escaped() -> None:
    html = page_link_html(("models", "model", 'a"><script>/x'))
    assert "<script>" not in html and '"><' not in html
    assert 'href="#modelvault-page/models/model/a%22%3E%3Cscript%3E/x"' in html


def test_no_link_without_a_full_ref() -> None:
    assert page_ref({"repository": "models", "repo_id": "acme/bert"}) is None
    assert "modelvault-page" not in Table("files", ("path",), []).__repr__()
    assert "modelvault-page" not in Table("files", ("path",), [])._repr_html_()
