"""Resource bounds: bombs end as ``error`` with a clear finding, within 256 MiB of RSS.

Peak RSS is measured in a fresh subprocess (its VmHWM covers the whole life of the process,
imports included), scanning every input one after the other: the peak bounds each of them.
"""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import time
from pathlib import Path

from modelvault_jlab.core.scanning import ScanEngine, Verdict

from . import bombs

MAX_RSS_MIB = 256
GIB = 1 << 30

_MEASURE = """
import json, sys
from modelvault_jlab.core.scanning import ScanEngine
engine = ScanEngine()
out = {}
for path in sys.argv[1:]:
    r = engine.scan_file(path)
    out[path.rsplit('/', 1)[-1]] = [r.verdict.value, sorted({f.rule for f in r.findings})]
# VmHWM, not ru_maxrss: a child started by fork+exec inherits the parent's ru_maxrss (the
# pytest process with torch loaded is already past 256 MiB); VmHWM belongs to the new image.
hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]
out['maxrss_mib'] = int(hwm.split()[1]) // 1024
print(json.dumps(out))
"""


def _overlapping(count: int) -> bytes:
    """Many central-directory entries sharing one local file (Fifield's non-recursive bomb)."""
    one = bombs.zip_deflate_bomb(GIB)
    lfh_len = one.index(b"PK\x01\x02")
    cd = one[lfh_len : one.index(b"PK\x05\x06")]
    body = one[:lfh_len] + cd * count
    eocd = bombs.struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(cd) * count, lfh_len, 0
    )
    return body + eocd


def test_bombs_are_errors_and_every_input_stays_within_256_mib(tmp_path: Path):
    samples = {
        "deflate.zip": bombs.zip_deflate_bomb(GIB),
        "bomb.gz": bombs.gzip_bomb(GIB),
        "bomb.bz2": bombs.bz2_bomb(512 << 20),
        "bomb.xz": bombs.xz_bomb(512 << 20),
        "nested.zip": bombs.nested_zip(4, bombs.zip_deflate_bomb(GIB)),
        "overlap.zip": _overlapping(50),
    }
    # Inputs parsed whole, each just under its cap, shaped to cost the most memory per byte.
    parsed = {
        "tokenizer_config.json": json.dumps(  # just under the parsed-memory estimate
            {"chat_template": "{{ m }}", "x": [[]] * 1_000_000}
        ).encode(),
        "chat_template.jinja": ("{{a}}" * ((256 << 10) // 5 - 10)).encode(),
        "modeling.py": ("x = [" + "1," * ((1 << 20) // 2 - 10) + "]\n").encode(),
    }
    for name, data in {**samples, **parsed}.items():
        (tmp_path / name).write_bytes(data)
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, *(str(tmp_path / n) for n in [*samples, *parsed])],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result = json.loads(proc.stdout)
    for name in samples:
        verdict, rules = result[name]
        assert verdict == "error", (name, rules)
        assert "archive-bomb" in rules or "zip-overlapping-entries" in rules, (name, rules)
    assert result["tokenizer_config.json"][0] == "clean"
    assert result["modeling.py"][0] == "suspicious"
    assert result["maxrss_mib"] < MAX_RSS_MIB, result


def test_cpu_budget_ends_the_scan_as_error():
    engine = ScanEngine()
    engine.limits = dataclasses.replace(engine.limits, max_cpu_seconds=0.5, cpu_seconds_per_gib=0)
    data = bombs.many_members(400)  # 400 members of 16 MiB each: ~6 GiB to inflate
    started = time.thread_time()
    report = engine.scan_fileobj(io.BytesIO(data), len(data), name_hint="many.zip")
    spent = time.thread_time() - started
    assert report.verdict is Verdict.ERROR
    assert any(f.rule == "scan-cpu-budget" for f in report.findings), report.findings
    assert spent < 5, spent


def test_scan_pool_bounds_concurrency_and_uses_its_own_threads():
    import threading

    from modelvault_jlab.core.scanning.pool import ScanPool

    pool = ScanPool(workers=2, queue=1)
    running = [0]
    peak = [0]
    names: set[str] = set()
    guard = threading.Lock()

    def work() -> int:
        with guard:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            names.add(threading.current_thread().name)
        time.sleep(0.05)
        with guard:
            running[0] -= 1
        return 1

    callers = [threading.Thread(target=pool.run, args=(work,)) for _ in range(8)]
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    assert peak[0] == 2
    assert all(n.startswith("scan") for n in names), names


def test_the_gate_scans_on_the_scan_pool(tmp_path: Path):
    """Gate.scan (called from many to_thread sites) hands the engine to the scan pool."""
    import threading

    from modelvault_jlab.bootstrap import open_vault
    from modelvault_jlab.config import VaultSettings

    vault = open_vault(VaultSettings(data_dir=str(tmp_path / "vault")))
    try:
        engine = vault.gate.engine
        threads: list[str] = []
        real = engine.scan_fileobj

        def recording(*args, **kwargs):  # the real scan, noting where it ran
            threads.append(threading.current_thread().name)
            return real(*args, **kwargs)

        engine.scan_fileobj = recording  # type: ignore[method-assign]
        info = vault.content.put_bytes(bombs.zip_deflate_bomb(GIB))
        record = vault.gate.scan(info.sha256, "bomb.zip")
        assert record.verdict == "error"
        assert threads and threads[0].startswith("scan"), threads
    finally:
        vault.close()


def test_scans_waiting_for_a_slot_leave_the_default_executor_free(tmp_path: Path):
    """A burst of scans from the event loop waits on the scan pool's own threads: the default
    executor (commits, reads: ``asyncio.to_thread``) still answers while every slot is taken."""
    import asyncio
    import threading

    from modelvault_jlab.bootstrap import open_vault
    from modelvault_jlab.config import VaultSettings

    vault = open_vault(VaultSettings(data_dir=str(tmp_path / "vault")))
    release = threading.Event()
    try:
        engine = vault.gate.engine
        real = engine.scan_fileobj

        def held(*args, **kwargs):  # every scan blocks until the test lets it go
            release.wait(30)
            return real(*args, **kwargs)

        engine.scan_fileobj = held  # type: ignore[method-assign]
        shas = [vault.content.put_bytes(f"file {i}".encode()).sha256 for i in range(24)]

        async def burst() -> list[str]:
            scans = [asyncio.ensure_future(vault.gate.scan_async(sha, "a.txt")) for sha in shas]
            await asyncio.sleep(0.3)  # the scans now hold every slot and wait for more
            assert not any(s.done() for s in scans)
            answer = await asyncio.wait_for(asyncio.to_thread(lambda: "free"), 10)
            release.set()
            return [answer] + [(await s).verdict for s in scans]

        results = asyncio.run(burst())
        assert results[0] == "free" and set(results[1:]) == {"clean"}, results
    finally:
        release.set()
        vault.close()
