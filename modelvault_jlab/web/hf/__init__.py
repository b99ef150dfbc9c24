"""Hugging Face Hub endpoints under ``{base_url}modelvault/hf/{repository}/``, one module per
resource (repos, tree, refs, commits, resolve, lfs, ...).

Each handler parses the request, makes one call on the vault and writes what huggingface_hub 2.4
expects (shared/hf-protocol.md). Errors carry ``X-Error-Code``/``X-Error-Message`` so the stock
client raises its own typed exceptions.
"""
