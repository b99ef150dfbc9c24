"""Governance: the gate (scans and policies), the judge (the one decision about a Hub file),
licence and code policies, waivers and scan verdicts."""
