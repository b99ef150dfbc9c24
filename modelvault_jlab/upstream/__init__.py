"""Outbound HTTP to upstream registries (the only place httpx is used on the server side)."""
