"""``python -m sim``: see :mod:`sim.cli.main`."""

import sys

from sim.cli.main import main

sys.exit(main())
