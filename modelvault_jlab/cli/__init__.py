"""``modelvault``: the command line, one module per command group.

``main`` builds the parser from each group's ``register``; ``_common`` holds what the groups
share (the storage options and opening a vault from them). ``python -m modelvault_jlab.cli`` runs
it like the ``modelvault`` script.
"""
