"""``python -m scheduler`` is the ``defwatch`` command."""

from scheduler import collector

collector.pause()  # for the imports too; main() resumes it (scheduler.collector)

from scheduler.cli import entry  # noqa: E402

entry()
