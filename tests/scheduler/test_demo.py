"""``defwatch demo``, as ``make demo`` runs it: offline, with a summary, from the base
package alone (no test extras, nothing from tests/), printing commands that work as shown."""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from pathlib import Path

from tests.conftest import Defwatch

# What `pip install -e .` does not bring (the test extras) and what is not a package at all.
NOT_INSTALLED = (
    "tests",
    "pytest",
    "_pytest",
    "hypothesis",
    "aiosmtpd",
    "reportlab",
    "playwright",
    "yaml",
    "mypy",
)


def forbid_test_imports(folder: Path) -> str:
    """A sitecustomize that makes the modules above unimportable in every process started
    with PYTHONPATH=folder (the demo and its crawl processes): as in a venv without them."""
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(
        textwrap.dedent(
            f"""
            import sys

            class Forbid:
                def find_spec(self, name, path=None, target=None):
                    if name.split(".")[0] in {NOT_INSTALLED!r}:
                        raise ModuleNotFoundError(f"No module named {{name!r}} (not installed)", name=name)
                    return None

            sys.meta_path.insert(0, Forbid())
            """
        )
    )
    return str(folder)


def test_demo_runs_two_cycles_and_sums_up(defwatch: Defwatch, tmp_path: Path) -> None:
    env = {"PYTHONPATH": f"{forbid_test_imports(tmp_path / 'site')}:{defwatch.env['PYTHONPATH']}"}
    defwatch.cwd = tmp_path / "work"
    defwatch.cwd.mkdir()
    result = defwatch("demo", timeout=300, env=env)
    folder = re.search(r"files in (\S+)", result.stdout)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Traceback" not in result.stderr and "No module named" not in result.stderr
        out = result.stdout
        assert "cycle 1" in out and "cycle 2" in out and "epoch 0 → 1" in out
        assert re.search(r"webhook ← asean: .*ASEAN", out)  # the receiver printed what it got
        assert re.search(r"webhook ← jinji: 人事発令", out)
        stories = re.search(r"stories: +(\d+) \(jdefense (\d+), mod (\d+)", out)
        assert stories and all(int(n) > 0 for n in stories.groups()), out
        assert re.search(r"copies linked: +[1-9]", out)
        assert re.search(r"ranking movements: +[1-9]", out)
        assert re.search(r"alerts delivered: +[1-9]\d* \(file \d+, hook [1-9]", out)
        assert folder is not None
        feeds = Path(folder.group(1)) / "public"
        assert re.search(r"feeds written: +\d+ files in " + re.escape(str(feeds)), out)
        for name in ("all.rss", "all.atom", "index.opml", "sources/jdefense.rss", "rules/asean.rss"):
            assert (feeds / name).is_file(), name
            assert str(feeds / name) in out or name.endswith(".atom")
        assert (Path(folder.group(1)) / "alerts.jsonl").read_text(encoding="utf-8").count("\n") > 0

        # The commands it prints work as shown, from where it was run.
        shown = re.findall(r"^  (\S.* (?:status|ranking --chart \S+))$", out, re.M)
        assert len(shown) == 2, out
        for command in shown:
            ran = subprocess.run(
                command,
                shell=True,
                cwd=defwatch.cwd,
                env={**defwatch.env, **env},
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert ran.returncode == 0, f"{command}: {ran.stderr}"
        assert (Path(folder.group(1)) / "ranking.png").stat().st_size > 0
    finally:
        if folder is not None:
            shutil.rmtree(folder.group(1), ignore_errors=True)


def test_make_demo_installs_only_the_base_package() -> None:
    from tests.conftest import REPO

    makefile = (REPO / "Makefile").read_text()
    [target] = re.findall(r"^demo: (.*)$", makefile, re.M)
    assert target.strip() == "$(STAMP)"  # pip install -e . (no [test])
    assert re.search(r"^\$\(STAMP\):.*\n\t\$\(BIN\)/pip install --quiet -e \.$", makefile, re.M)
