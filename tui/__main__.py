"""``python -m tapescope.tui``: same as the ``tapescope`` command."""

import sys

from tapescope.tui.cli import main

sys.exit(main())
