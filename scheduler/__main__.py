"""``python -m scheduler`` is the ``defwatch`` command."""

import sys

from scheduler import collector

collector.pause()  # for the imports too; main() resumes it (scheduler.collector)

from scheduler.cli import main  # noqa: E402

sys.exit(main())
