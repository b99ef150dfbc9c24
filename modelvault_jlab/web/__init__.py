"""Tornado adapters: thin handlers that translate HTTP to one Vault call each."""
