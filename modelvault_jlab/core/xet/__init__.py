"""Xet storage: content-addressed chunks, xorbs and shards (hub-docs ``docs/xet``)."""
