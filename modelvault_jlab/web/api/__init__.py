"""The JSON API under ``{base_url}modelvault/api/``: what the sidebar, magics and CLI call, one
module per resource (repositories, tokens, audit, governance, bundles, files, ...).

Inside Jupyter, the logged-in Jupyter user administers the vault (see ``jupyter/extension.py``);
everywhere, a ModelVault token in ``Authorization: Bearer`` works too.
"""
