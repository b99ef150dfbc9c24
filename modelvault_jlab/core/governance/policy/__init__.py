"""Governance: licence normalisation, policies, decisions and waivers."""
