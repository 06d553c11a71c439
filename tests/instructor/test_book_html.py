"""The built book shows what the chapters computed: math typeset, figures present, the notebook
offered for download, nothing fetched from the internet.

The book is built once for the module from the committed chapters with execution switched off,
so the HTML shows exactly the outputs that nbval checks; one chapter page is then rendered by
headless Chromium (Debian's ``chromium`` package; CI installs it) as a browser would show it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
# Chapter 4 has all three kinds of output: a figure, a table of formulas and displayed math.
PAGE = Path("book/04_backward_graph.html")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.slow


class _Tags(HTMLParser):
    """The attributes of every tag of a page, by tag name."""

    def __init__(self):
        super().__init__()
        self.tags: dict[str, list[dict[str, str | None]]] = {}

    def handle_starttag(self, tag, attrs):
        self.tags.setdefault(tag, []).append(dict(attrs))


def tags_of(html: str) -> dict[str, list[dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


@pytest.fixture(scope="module")
def html_dir(tmp_path_factory) -> Path:
    """The book built without executing the chapters, into a temporary folder."""
    tmp = tmp_path_factory.mktemp("book")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    (tmp / "_config.yml").write_text(yaml.safe_dump(config))
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", "-W", "--config", str(tmp / "_config.yml")]
    command += ["--path-output", str(tmp), str(ROOT)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"the book does not build:\n{result.stdout}\n{result.stderr}"
    return tmp / "_build" / "html"


def test_every_chapter_of_the_toc_is_a_page(html_dir):
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = [toc["root"], *(entry["file"] for entry in toc["chapters"])]
    missing = [c for c in chapters if not (html_dir / f"{c}.html").is_file()]
    assert not missing, f"chapters without a page: {missing}"


def test_page_loads_nothing_from_the_internet(html_dir):
    tags = tags_of((html_dir / PAGE).read_text())
    sources = [t.get("src") for t in tags.get("script", []) + tags.get("img", [])]
    sources += [t.get("href") for t in tags.get("link", []) if t.get("rel") == "stylesheet"]
    remote = [s for s in sources if s and re.match(r"(https?:)?//", s)]
    assert not remote, f"the page would fetch {remote}"
    mathjax = [s for s in sources if s and "mathjax" in s.lower()]
    assert mathjax and all((html_dir / PAGE.parent / s).is_file() for s in mathjax), (
        f"MathJax is not served from the book's own files: {mathjax}"
    )


def test_page_offers_its_notebook_for_download(html_dir):
    links = [t.get("href") or "" for t in tags_of((html_dir / PAGE).read_text()).get("a", [])]
    notebooks = [link for link in links if link.endswith(".ipynb")]
    assert notebooks, "no download link to the chapter's notebook"
    for link in notebooks:
        assert (html_dir / PAGE.parent / link).stat().st_size > 0, f"{link} is missing or empty"


@pytest.fixture(scope="module")
def rendered(html_dir, tmp_path_factory) -> tuple[str, Path]:
    """The page's DOM after its scripts ran (MathJax included), and a screenshot of it."""
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium); CI has it")
    url = (html_dir / PAGE).as_uri()
    browser = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    # Virtual time runs the page's scripts to completion before the DOM is dumped.
    browser += ["--virtual-time-budget=20000", "--window-size=1280,2400"]
    dom = subprocess.run(
        [*browser, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    screenshot = tmp_path_factory.mktemp("screenshot") / "chapter.png"
    subprocess.run(
        [*browser, f"--screenshot={screenshot}", url], capture_output=True, timeout=120, check=True
    )
    return dom, screenshot


def test_math_is_typeset_by_mathjax(rendered):
    dom, _ = rendered
    typeset = dom.count("<mjx-container")
    # The table's formulas and local derivatives, and the staged gradients: dozens in all.
    assert typeset >= 20, f"only {typeset} formulas were typeset by MathJax"
    assert "<mjx-merror" not in dom, "MathJax could not typeset a formula (TeX error)"
    assert 'mathcolor="red"' not in dom, "a formula uses a macro MathJax does not know"
    # Sphinx hands MathJax inline math as \(...\) and display math as \[...\]; MathJax
    # replaces every one it can typeset.
    untypeset = [d for d in ("\\(", "\\[", "$\\displaystyle") if d in dom]
    assert not untypeset, f"formulas left as raw TeX (delimiters {untypeset})"


def test_figures_are_on_the_page(rendered, html_dir):
    dom, _ = rendered
    images = [t.get("src") or "" for t in tags_of(dom).get("img", [])]
    figures = [src for src in images if src.endswith(".png")]
    assert figures, "the page shows no figure"
    for src in figures:
        assert (html_dir / PAGE.parent / src).stat().st_size > 1000, f"{src} is missing or empty"


def test_screenshot_is_not_blank(rendered):
    from matplotlib.image import imread

    _, screenshot = rendered
    pixels = imread(screenshot)
    assert pixels.shape[0] >= 2000 and pixels.shape[1] >= 1200, pixels.shape
    # A page that failed to render is one flat colour.
    assert pixels[..., :3].std() > 0.05, "the screenshot is blank"
