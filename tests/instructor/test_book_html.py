"""The built book shows what the chapters computed, as a reader sees it: math typeset, every
figure captioned, nothing cut off, no lab plumbing, citations resolved, the notebook offered for
download, nothing fetched from the internet.

The book is built once for the module from the committed chapters with execution switched off,
so the HTML shows exactly the outputs that nbval checks. Every chapter is then rendered by one
headless Chromium (Debian's ``chromium`` package; CI installs it; ``browser.py`` drives it) at
1280 and 400 pixels wide, with a small script that measures the page once MathJax has typeset
it; a screenshot of each chapter at both widths is written to ``_build/screenshots/`` for a
person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.instructor.book_build import ROOT, build_book, toc_chapters
from tests.instructor.browser import Browser

# Chapter 4 has all three kinds of output: a figure, a table of formulas and displayed math.
PAGE = Path("book/04_backward_graph.html")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = ROOT / "_build" / "screenshots"
WIDTHS = (1280, 400)


def chapters() -> list[str]:
    return toc_chapters()


pytestmark = pytest.mark.slow


def by_chapter() -> list:
    """Every chapter as a parameter."""
    return [pytest.param(c, id=Path(c).name) for c in chapters()]


def by_chapter_and_width() -> list:
    """Every (chapter, width) as a parameter."""
    return [pytest.param(c, w, id=f"{Path(c).name}-{w}") for c in chapters() for w in WIDTHS]


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
    return build_book(tmp_path_factory.mktemp("book"))


def test_every_chapter_of_the_toc_is_a_page(html_dir):
    missing = [c for c in chapters() if not (html_dir / f"{c}.html").is_file()]
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


# Evaluated in the page once it has loaded; resolves, once MathJax has typeset the page, to the
# measurements.
MEASURE = """
(async () => {
  if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
  const article = document.querySelector("article") || document.body;
  const column = article.getBoundingClientRect();
  const overflowing = [];
  // MathJax's display math scrolls inside its own container (overflow-x: auto), so the
  // container itself is measured too.
  const blocks = "pre, div.math-wrapper, div.math, .table-wrapper, div.output, "
    + "div.cell_output, .pst-scrollable-table-container, mjx-container[display='true']";
  for (const block of article.querySelectorAll(blocks)) {
    if (block.scrollWidth > block.clientWidth + 1) {
      overflowing.push({block: block.tagName + "." + block.className,
        text: block.textContent.trim().slice(0, 80),
        scrollWidth: block.scrollWidth, clientWidth: block.clientWidth});
    }
  }
  // A table wider than the block it sits in would scroll sideways (or stick out).
  const tables = [];
  for (const table of article.querySelectorAll("table")) {
    const holder = table.parentElement;
    tables.push({text: table.textContent.trim().slice(0, 80), width: table.scrollWidth,
      available: holder.clientWidth,
      fits: table.scrollWidth <= holder.clientWidth + 1
        && table.getBoundingClientRect().right <= column.right + 1});
  }
  const figures = [];
  for (const image of article.querySelectorAll("img")) {
    const box = image.getBoundingClientRect();
    const figure = image.closest("figure");
    const caption = figure ? figure.querySelector("figcaption") : null;
    figures.push({src: image.getAttribute("src"), id: figure ? figure.id : "",
      caption: caption ? caption.textContent.trim() : "",
      width: Math.round(box.width), natural_width: image.naturalWidth,
      fits: box.right <= column.right + 1});
  }
  // A printed output keeps its lines: a table wrapped onto more lines than it printed is
  // unreadable (at 400 px such an output may scroll sideways instead, see _static/nndl.css).
  const printed = [];
  for (const pre of article.querySelectorAll("div.cell_output div.highlight-myst-ansi pre")) {
    const style = getComputedStyle(pre);
    const lineHeight = parseFloat(style.lineHeight) || 1.2 * parseFloat(style.fontSize);
    const inner = pre.clientHeight - parseFloat(style.paddingTop)
      - parseFloat(style.paddingBottom);
    printed.push({text: pre.textContent.trim().slice(0, 80),
      lines: pre.textContent.replace(/\\n$/, "").split("\\n").length,
      shown: Math.round(inner / lineHeight)});
  }
  const unresolved = [];
  for (const link of article.querySelectorAll("a[href^='#']")) {
    const target = decodeURIComponent(link.getAttribute("href").slice(1));
    if (target && !document.getElementById(target)) unresolved.push(link.getAttribute("href"));
  }
  return {
    formulas: document.querySelectorAll("mjx-container").length,
    mathjax_errors: document.querySelectorAll("mjx-merror").length,
    raw_tex: ["\\\\(", "\\\\[", "$\\\\displaystyle"].filter(d => article.textContent.includes(d)),
    overflowing: overflowing,
    printed: printed,
    tables: tables,
    figures: figures,
    bibliography: article.querySelectorAll("[role='doc-biblioentry'], div.citation").length,
    unresolved_links: unresolved,
    text: article.innerText,
    height: document.documentElement.scrollHeight,
    viewport: document.documentElement.clientWidth,
  };
})()
"""


def _render(browser: Browser, page: Path, width: int, screenshot: Path) -> dict:
    """Measure ``page`` at ``width`` pixels and write a screenshot of all of it; the result has
    the screenshot's size and the spread of its grey levels (0 for a blank page) too."""
    import numpy as np
    from PIL import Image

    result = browser.render(page, width, MEASURE, screenshot)
    assert result["viewport"] == width, f"{page.name} was laid out {result['viewport']} px wide"
    with Image.open(screenshot) as image:
        result["screenshot_size"] = image.size
        result["screenshot_spread"] = float(np.asarray(image.convert("L"), dtype=float).std() / 255)
    return result


@pytest.fixture(scope="module")
def chromium() -> str:
    """Headless Chromium's command; without it the browser checks skip, or fail in CI (with the
    environment variable CI set), before the book is built."""
    if CHROMIUM is None:
        missing = "headless Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(
                f"{missing}: CI must render the book, so .ci/run installs it", pytrace=False
            )
        pytest.skip(f"{missing}; CI has it and fails without it")
    return CHROMIUM


@pytest.fixture(scope="module")
def rendered(chromium, html_dir) -> dict[tuple[str, int], dict]:
    """Every chapter measured at every width: (chapter, width) -> measurements."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    results = {"html_dir": html_dir}
    pairs = [(chapter, width) for chapter in chapters() for width in WIDTHS]

    def render_all(share: list[tuple[str, int]]) -> None:
        with Browser(chromium) as browser:
            for chapter, width in share:
                screenshot = SCREENSHOTS / f"{Path(chapter).name}-{width}.png"
                page = html_dir / f"{chapter}.html"
                results[chapter, width] = _render(browser, page, width, screenshot)
                results[chapter, width]["screenshot"] = screenshot

    # Two browsers, each rendering every other page: a page's measurements do not depend on
    # what another browser does at the same time.
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(render_all, [pairs[0::2], pairs[1::2]]))
    counts = {
        "chapters": len(chapters()),
        "figures with captions": sum(
            bool(f["caption"]) for c in chapters() for f in rendered_figures(results, c)
        ),
        "overflowing blocks at 1280 px": sum(
            len(results[c, 1280]["overflowing"]) for c in chapters()
        ),
        "tables": sum(len(results[c, 400]["tables"]) for c in chapters()),
        "tables wider than their column at 400 px": sum(
            not t["fits"] for c in chapters() for t in results[c, 400]["tables"]
        ),
        "graph label size at 400 px": round(graph_label_px(results, 400), 1),
    }
    print(f"\nbrowser check: {counts}; screenshots in {SCREENSHOTS}")
    return results


def rendered_figures(results, chapter):
    return results[chapter, 1280]["figures"]


# The computation graph's page and figure, and the smallest size its labels may be shown at:
# 9 CSS pixels, a little over half the theme's 16-pixel body text and the size of the smallest
# print a phone's browser shows by default; smaller, a monospace label blurs into its box.
GRAPH_PAGE, GRAPH_FIGURE, LEGIBLE_PX = "book/04_backward_graph", "fig-graph", 9.0


def graph_label_px(results, width: int) -> float:
    """The graph's label size in CSS pixels as shown at ``width``: the font size in the image's
    own pixels (points times the image's dots per inch over 72) times the scale the page shows
    the image at."""
    from PIL import Image

    from nndl.book.figures import GRAPH_FONTSIZE

    [figure] = [f for f in results[GRAPH_PAGE, width]["figures"] if f["id"] == GRAPH_FIGURE]
    with Image.open(results["html_dir"] / Path(GRAPH_PAGE).parent / figure["src"]) as image:
        dpi = image.info["dpi"][0]
    return GRAPH_FONTSIZE * dpi / 72 * figure["width"] / figure["natural_width"]


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: Path(c).name)
def test_math_is_typeset_by_mathjax(rendered, html_dir, chapter):
    result = rendered[chapter, 1280]
    # Sphinx marks every formula with the class "math" and hands it to MathJax as \\(...\\)
    # or \\[...\\]; MathJax replaces each one it can typeset.
    formulas = (html_dir / f"{chapter}.html").read_text().count('class="math')
    assert result["formulas"] >= formulas, f"{result['formulas']} of {formulas} typeset"
    assert result["mathjax_errors"] == 0, "MathJax could not typeset a formula (TeX error)"
    assert not result["raw_tex"], f"formulas left as raw TeX (delimiters {result['raw_tex']})"


def test_chapters_with_formulas_show_them(rendered):
    """The chapters that derive something print its formulas (a guard on the test above)."""
    pages = [c for c in chapters() if rendered[c, 1280]["formulas"] > 0]
    assert len(pages) >= 4, pages


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: Path(c).name)
def test_every_figure_is_on_the_page_with_a_caption(rendered, html_dir, chapter):
    for figure in rendered_figures(rendered, chapter):
        path = (html_dir / chapter).parent / figure["src"]
        assert path.stat().st_size > 1000, f"{figure['src']} is missing or empty"
        assert figure["caption"], f"a figure without a caption: {figure['src']}"


def test_the_book_has_figures(rendered):
    assert sum(len(rendered_figures(rendered, c)) for c in chapters()) >= 4


@pytest.mark.parametrize("chapter, width", by_chapter_and_width())
def test_nothing_is_cut_off(rendered, chapter, width):
    result = rendered[chapter, width]
    too_wide = [f["src"] for f in result["figures"] if not f["fits"]]
    assert not too_wide, f"figures wider than the column at {width} px: {too_wide}"
    if width == 1280:
        blocks = [
            (b["block"], b["text"], b["scrollWidth"], b["clientWidth"])
            for b in result["overflowing"]
        ]
        assert not blocks, f"blocks wider than their column at {width} px: {blocks}"


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: Path(c).name)
def test_tables_fit_their_column_on_a_phone(rendered, chapter):
    wide = [t for t in rendered[chapter, 400]["tables"] if not t["fits"]]
    assert not wide, f"tables wider than their column at 400 px: {wide}"


@pytest.mark.parametrize("chapter, width", by_chapter_and_width())
def test_printed_outputs_keep_their_lines(rendered, chapter, width):
    wrapped = [p for p in rendered[chapter, width]["printed"] if p["shown"] > p["lines"]]
    assert not wrapped, f"outputs wrapped onto more lines than they print at {width} px: {wrapped}"


@pytest.mark.parametrize("chapter", by_chapter())
def test_the_text_of_every_figure_is_legible_on_a_phone(rendered, chapter):
    """Each figure's smallest text (nndl.book.figures draws none below MIN_FONTSIZE points, and
    the chapters draw their figures with it: test_book.py) as shown 400 pixels wide."""
    from PIL import Image

    from nndl.book.figures import MIN_FONTSIZE

    small = []
    for figure in rendered[chapter, 400]["figures"]:
        with Image.open((rendered["html_dir"] / chapter).parent / figure["src"]) as image:
            dpi = image.info["dpi"][0]
        size = MIN_FONTSIZE * dpi / 72 * figure["width"] / figure["natural_width"]
        if size < LEGIBLE_PX:
            small.append(f"{figure['id'] or figure['src']}: {size:.1f} px")
    assert not small, f"figure text below {LEGIBLE_PX} px at 400 px: {small}"


@pytest.mark.parametrize("chapter", by_chapter())
def test_every_chapter_asks_its_question_shows_its_code_and_lists_its_references(html_dir, chapter):
    html = (html_dir / f"{chapter}.html").read_text()
    titles = re.findall(r'<p class="admonition-title">([^<]*)</p>', html)
    missing = [t for t in ("The question of this chapter", "In the code") if t not in titles]
    if 'role="doc-biblioentry"' not in html:
        missing.append("references")
    assert not missing, f"the chapter has no {', no '.join(missing)}"


@pytest.mark.parametrize("chapter", by_chapter())
def test_the_prose_shows_a_glued_number_as_the_chapter_printed_it(chapter):
    """A glued number reaches the prose as the text its cell formatted (a setting written by
    ``nndl.book.tables.number``, an experiment's value by ``nndl.book.values``), never formatted
    again there: ``{glue:text}`x:.2f``` rounds 0.975 to 0.97 where the cell's table printed 0.98."""
    import nbformat

    notebook = nbformat.read(ROOT / f"{chapter}.ipynb", as_version=4)
    glued = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                glued[name] = output["data"].get("application/papermill.record/text/plain", "")
    prose = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    reformatted = [
        f"{name}:{spec} ({glued.get(name)})"
        for name, spec in re.findall(r"\{glue:text\}`([\w.]+):([^`]+)`", prose)
        if not re.fullmatch(r"-?\d+", glued.get(name, ""))
    ]
    assert not reformatted, f"the prose formats glued numbers again: {reformatted}"


def test_the_computation_graph_is_legible_on_a_phone(rendered):
    size = graph_label_px(rendered, 400)
    assert size >= LEGIBLE_PX, f"the graph's labels are {size:.1f} px at 400 px, below {LEGIBLE_PX}"


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: Path(c).name)
def test_no_lab_plumbing_on_the_page(rendered, chapter):
    text = rendered[chapter, 1280]["text"]
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "_check_batchnorm"):
        assert marker not in text, f"{marker!r} is printed on the page"


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: Path(c).name)
def test_citations_resolve_to_the_bibliography(rendered, chapter):
    result = rendered[chapter, 1280]
    assert not result["unresolved_links"], f"links to nothing: {result['unresolved_links']}"
    if "{cite" in (ROOT / f"{chapter}.ipynb").read_text():
        assert result["bibliography"] > 0, "the chapter cites but lists no references"
        keys = re.findall(r"\{cite:\w+\}`([^`]+)`", (ROOT / f"{chapter}.ipynb").read_text())
        leftover = [k for k in keys if k in result["text"]]
        assert not leftover, f"citation keys printed as text: {leftover}"


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: Path(c).name)
@pytest.mark.parametrize("width", WIDTHS)
def test_screenshot_is_not_blank(rendered, chapter, width):
    shot = rendered[chapter, width]["screenshot_size"]
    assert shot[0] >= width - 20, shot
    # A page that failed to render is one flat colour.
    assert rendered[chapter, width]["screenshot_spread"] > 0.05, "the screenshot is blank"
