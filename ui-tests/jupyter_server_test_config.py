"""Jupyter server configuration for the ModelVault UI tests (Galata).

Never use this configuration in production: it disables authentication and exposes the
JupyterLab application object to the page.
"""

import os
import tempfile

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)

# One port for the server and Playwright's baseURL (see playwright.config.js).
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = int(os.environ.get("MV_UI_PORT", "8899"))
c.ServerApp.port_retries = 0
c.ServerApp.open_browser = False
# CI runs as root.
c.ServerApp.allow_root = True

# A fresh, empty vault for every run; the server creates the hf-local repository "models".
c.VaultSettings.data_dir = tempfile.mkdtemp(prefix="mv-ui-")

# Uncomment to set server log level to debug level
# c.ServerApp.log_level = "DEBUG"
