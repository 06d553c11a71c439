"""Publishing the book: one setting, ``repository.url`` in ``_config.yml``, switches on the
repository, issues and launch buttons; without it there are none, and the build (with -W) needs
neither a repository nor the network either way."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nndl.book.buttons import button_options
from tests.instructor.book_build import ROOT, build_book

REPOSITORY = "https://github.com/example-org/nndl"
PAGE = Path("book/07_training.html")


def test_config_names_the_repository_in_one_place_and_loads_the_button_switch():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "url" in config["repository"]
    assert "nndl.book.buttons" in config["sphinx"]["extra_extensions"]
    assert "use_repository_button" not in config["html"], "the URL alone decides"
    assert "use_issues_button" not in config["html"], "the URL alone decides"


def test_buttons_are_on_exactly_when_the_repository_url_is_set():
    launch = {"binderhub_url": "https://mybinder.org", "colab_url": "https://colab.example"}
    on = button_options({"repository_url": REPOSITORY, "launch_buttons": launch})
    assert on["use_repository_button"] and on["use_issues_button"]
    assert on["launch_buttons"] == launch
    off = button_options({"repository_url": "", "launch_buttons": launch})
    assert not off["use_repository_button"] and not off["use_issues_button"]
    assert not any(off["launch_buttons"].values()), "a launch button without a repository"


@pytest.mark.slow
def test_with_a_repository_url_the_pages_link_to_it_binder_and_colab(tmp_path):
    html_dir = build_book(tmp_path, repository_url=REPOSITORY)
    html = (html_dir / PAGE).read_text()
    assert f'href="{REPOSITORY}"' in html, "repository button"
    assert f"{REPOSITORY}/issues" in html, "issues button"
    assert "https://mybinder.org/v2/gh/example-org/nndl/main?urlpath=" in html, "Binder button"
    colab = "https://colab.research.google.com/github/example-org/nndl/blob/main/"
    assert colab + "book/07_training.ipynb" in html, "Colab button"
