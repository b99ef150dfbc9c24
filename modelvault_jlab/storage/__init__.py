"""Bytes and records: content-addressed blobs and transactional metadata. Knows nothing of HTTP."""
