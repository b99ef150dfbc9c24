"""Xet CAS routes (read: read.py, write: write.py)."""
