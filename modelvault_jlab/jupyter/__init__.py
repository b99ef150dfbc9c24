"""ModelVault in a Jupyter server: the server extension, the environment its kernels get, and
the proxy to a central vault (used instead of local storage when ``remote_url`` is set).

Only the Jupyter host imports this package; kernels use ``modelvault_jlab.magics``.
"""
