"""The domain: repositories, identity, audit, Hub repos, uploads. No HTTP, Jupyter or traitlets."""
