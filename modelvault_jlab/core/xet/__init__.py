"""Xet storage: content-defined chunks in xorbs, files as terms over them (issue #16)."""
