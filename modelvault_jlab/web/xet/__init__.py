"""Xet endpoints: the token routes beside the Hub API and the CAS under ``{hub endpoint}/cas``
(shared/xet-protocol.md). ``write`` holds tokens for uploads, xorbs, shards and dedup queries;
``read`` the read token, reconstructions and fetches.

CAS requests carry a Xet token (``core/xet/tokens.py``) instead of a vault token: the handlers
here verify it themselves and never send it to the vault's token check.
"""
