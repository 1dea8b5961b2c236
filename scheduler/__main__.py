"""``python -m scheduler`` is the ``defwatch`` command."""

import sys

from scheduler.cli import main

sys.exit(main())
