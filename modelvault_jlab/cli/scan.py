"""``modelvault scan PATH...``: scan files and directories with the static scanner.

Exit codes (ClamAV/fickling convention, error first because it means "unknown"):

* ``2`` if any file could not be analysed (verdict ``error``);
* else ``1`` if any file is flagged (``suspicious`` or ``malicious``);
* else ``0`` (every file clean).

``--format json`` (or ``--json``) prints one JSON object per file per line: ``path``, ``verdict``,
``format``, ``scanner_version``, ``findings`` (plus the rest of the report). ``--format sarif``
prints one SARIF 2.1.0 log for all files (GitHub code scanning: upload it with
``github/codeql-action/upload-sarif``); paths in it are relative to the scanned directory.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from .. import __version__
from ..core.scanning import ScanEngine, ScanReport, Severity, Verdict
from ..core.scanning.sarif import ScannedFile, to_sarif

EXIT_CLEAN = 0
EXIT_FLAGGED = 1
EXIT_ERROR = 2


def register(subparsers: Any) -> None:
    """Add the ``scan`` subcommand to an argparse ``subparsers`` object."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "scan",
        help="statically scan model files for code execution risks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_arguments(p)
    p.set_defaults(func=run)


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or directories (recursive)")
    p.add_argument(
        "--format",
        choices=("text", "json", "sarif"),
        default=None,
        help="output format (default text; sarif: one SARIF 2.1.0 log for code scanning)",
    )
    p.add_argument("--json", action="store_true", help="same as --format json")
    p.add_argument(
        "--allow-global",
        action="append",
        default=[],
        metavar="MODULE.NAME",
        help="extra pickle global to allow (repeatable)",
    )
    p.add_argument("--max-depth", type=int, default=6, help="archive nesting depth limit")
    p.add_argument("-v", "--verbose", action="store_true", help="also print informational findings")


def _iter_files(paths: list[str]) -> Iterator[tuple[Path, str, Path]]:
    """(file, its path relative to the root, the root directory) for every file to scan."""
    for raw in paths:
        root = Path(raw)
        if root.is_dir():
            for f in sorted(root.rglob("*")):
                if f.is_file() and not f.is_symlink():
                    yield f, f.relative_to(root).as_posix(), root
        else:
            yield root, root.name, root.parent


def _print_human(out: TextIO, path: Path, report: ScanReport, verbose: bool) -> None:
    out.write(f"{path}: {report.verdict.value.upper()} ({report.format})\n")
    for f in report.findings:
        if f.severity is Severity.INFO and not verbose:
            continue
        where = []
        if f.inner_path:
            where.append(f"in {f.inner_path}")
        if f.offset is not None:
            where.append(f"@{f.offset}")
        if f.global_:
            where.append(f"global {f.global_}")
        suffix = f" [{', '.join(where)}]" if where else ""
        out.write(f"    {f.severity.label}: {f.rule}: {f.message}{suffix}\n")


def run(args: argparse.Namespace) -> int:
    """Scan every path; return the process exit code (see module docstring)."""
    engine = ScanEngine(frozenset(args.allow_global), max_depth=args.max_depth)
    fmt = args.format or ("json" if args.json else "text")
    verbose = bool(getattr(args, "verbose", False))
    out = sys.stdout
    verdicts: list[Verdict] = []
    scanned: list[ScannedFile] = []
    for path, rel, root in _iter_files(list(args.paths)):
        try:
            report = engine.scan_file(path, name_hint=rel)
        except OSError as exc:
            verdicts.append(Verdict.ERROR)
            scanned.append(ScannedFile(str(root), rel, None, exc.strerror or str(exc)))
            if fmt == "json":
                out.write(
                    json.dumps(
                        {
                            "path": str(path),
                            "verdict": "error",
                            "format": None,
                            "findings": [],
                            "error": str(exc),
                        }
                    )
                    + "\n"
                )
            elif fmt == "text":
                out.write(f"{path}: ERROR (cannot read: {exc.strerror})\n")
            continue
        verdicts.append(report.verdict)
        scanned.append(ScannedFile(str(root), rel, report))
        if fmt == "json":
            out.write(json.dumps({"path": str(path), **report.to_dict()}) + "\n")
        elif fmt == "text":
            _print_human(out, path, report, verbose)
    if fmt == "sarif":
        json.dump(to_sarif(scanned, tool_version=__version__, verbose=verbose), out, indent=1)
        out.write("\n")
    out.flush()
    if Verdict.ERROR in verdicts:
        return EXIT_ERROR
    if any(v.is_flagged for v in verdicts):
        return EXIT_FLAGGED
    return EXIT_CLEAN


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="modelvault")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main(["scan", *sys.argv[1:]] if sys.argv[1:2] != ["scan"] else sys.argv[1:]))
