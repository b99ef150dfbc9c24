"""Static scanning of model files: never deserialises, imports or executes their content.

Public API::

    from modelvault_jlab.core.scanning import (
        ScanEngine, ScanReport, Finding, Verdict, SCANNER_VERSION,
    )
"""

from __future__ import annotations

from .engine import ScanEngine
from .models import SCANNER_VERSION, Finding, ScanReport, Severity, Verdict

__all__ = ["SCANNER_VERSION", "Finding", "ScanEngine", "ScanReport", "Severity", "Verdict"]
