"""One regression test per published bypass class (sources cited in corpus.py, per sample).

Payloads are assembled from raw bytes in corpus.py at test time; no malicious binary is
committed. The allow-list decides, so every sample must be flagged: known-dangerous callables
must be graded ``malicious``; structural tricks must never come out ``clean``.
"""

from __future__ import annotations

import pytest

from modelvault_jlab.core.scanning import Verdict

from .corpus import SAMPLES, Sample
from .live import loads_run

# Samples whose danger is structural rather than a named callable: flagged is enough.
_FLAGGED_OK = {"ext-opcode", "remote-code", "sys-modules"}


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.id for s in SAMPLES])
def test_bypass_is_caught(scan, sample: Sample):
    if sample.id == "7z-torch":
        pytest.importorskip("py7zr")
    report = scan.bytes(sample.build(), name_hint=sample.name)
    assert report.verdict is not Verdict.CLEAN, (sample.source, report.findings)
    if sample.id in _FLAGGED_OK:
        assert report.verdict in (Verdict.SUSPICIOUS, Verdict.MALICIOUS)
    else:
        assert report.verdict is Verdict.MALICIOUS, (sample.id, sample.source, report.findings)


def test_every_gadget_reports_its_global(scan):
    for sample in SAMPLES:
        if not sample.id.startswith("gadget-"):
            continue
        report = scan.bytes(sample.build())
        assert any(f.global_ for f in report.findings), sample.id


def test_corpus_has_sources():
    assert len(SAMPLES) >= 60
    assert all(s.source for s in SAMPLES)
    assert len({s.id for s in SAMPLES}) == len(SAMPLES)


_LIVE = [s for s in SAMPLES if s.loader]


def test_loader_bypasses_are_live():
    """Every sample with a loader runs its payload when that loader opens it (all in one
    sandboxed subprocess), so a scanner verdict on it is about a real attack."""
    loads = {
        s.id: (str(s.loader), (s.name, s.build(), s.companions()) if s.companions else s.build())
        for s in _LIVE
    }
    live = loads_run(loads)
    assert not set(loads) - live, f"payload did not run: {sorted(set(loads) - live)}"
    assert len(_LIVE) >= 15
