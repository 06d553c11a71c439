"""Building the book from the committed chapters, for the tests that read its HTML
(``test_book_html.py``, ``test_book_publish.py``): one helper, so that both build it the same way.

Execution is switched off, so the pages show exactly the outputs that nbval checks, and the
build runs with ``-W``, so a warning fails it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent


def toc_chapters() -> list[str]:
    """The chapters ``_toc.yml`` lists, in reading order (the root, then every part's chapters,
    or the chapters of a toc without parts), as paths without suffix: ``book/02_forward_train``."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    parts = toc.get("parts", [{"chapters": toc.get("chapters", [])}])
    return [toc["root"], *(entry["file"] for part in parts for entry in part["chapters"])]


def build_book(output: Path, repository_url: str | None = None) -> Path:
    """Build the book into ``output`` from ``_config.yml`` with execution off.

    Inputs:
    - output: an empty folder; the configuration and ``_build/`` are written there
    - repository_url: replaces ``repository.url`` of ``_config.yml`` when given

    Returns:
    - the folder of the HTML pages
    """
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    if repository_url is not None:
        config["repository"]["url"] = repository_url
    (output / "_config.yml").write_text(yaml.safe_dump(config))
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", "-W", "--config", str(output / "_config.yml")]
    command += ["--path-output", str(output), str(ROOT)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"the book does not build:\n{result.stdout}\n{result.stderr}"
    return output / "_build" / "html"
