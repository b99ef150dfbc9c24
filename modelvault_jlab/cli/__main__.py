"""``python -m modelvault_jlab.cli``: the same as the ``modelvault`` script."""

import sys

from .main import main

sys.exit(main())
