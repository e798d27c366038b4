"""The documentation's examples run, and the site builds."""

from __future__ import annotations

import doctest
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from tools import need

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(p for p in (ROOT / "docs").glob("*.md") if ">>> " in p.read_text())


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_examples_run(page: Path) -> None:
    result = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
    )
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} example(s) failed in {page.name}"


def test_readme_examples_run() -> None:
    result = doctest.testfile(
        str(ROOT / "README.md"),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 0
    assert result.failed == 0


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once (strict) for the checks below."""
    need("mkdocs", module=True)
    site_dir = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return site_dir


def test_docs_site_builds(site: Path) -> None:
    assert (site / "api" / "index.html").exists()


# --------------------------------------------------------------- the site as rendered
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")  # CommonMark: a space after the hashes
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _key(text: str) -> str:
    """Heading text compared without markup: ``[a](b)`` is ``a``, only letters and digits."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def _intended(markdown: str) -> tuple[list[tuple[int, str]], int, bool]:
    """The headings a page's Markdown means (level, key), its table count, and whether it
    has mkdocstrings blocks (``::: name``, which add headings and tables of their own)."""
    headings, tables, fenced, previous = [], 0, False, ""
    lines = markdown.splitlines()
    for line in lines:
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            match = _HEADING.match(line)
            if match:
                headings.append((len(match.group(1)), _key(match.group(2))))
            if _TABLE_RULE.match(line) and previous.lstrip().startswith("|"):
                tables += 1
        previous = line
    return headings, tables, any(line.startswith("::: ") for line in lines)


class _Rendered(HTMLParser):
    """Headings (level, key, from mkdocstrings), tables and paragraphs of a page's article."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[tuple[int, str, bool]] = []
        self.tables = 0
        self.paragraphs: list[str] = []
        self._article = 0
        self._open: tuple[str, bool] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "article":
            self._article += 1
        if not self._article:
            return
        if tag == "table":
            self.tables += 1
        elif re.fullmatch(r"h[1-6]|p", tag):
            doc = "doc-heading" in (dict(attrs).get("class") or "")
            self._open, self._text = (tag, doc), []
        elif tag == "a" and self._open and ("class", "headerlink") in attrs:
            self._open = (self._open[0] + "-link", self._open[1])  # the permalink's text: skip

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self._article -= 1
        if self._open and tag == "a" and self._open[0].endswith("-link"):
            self._open = (self._open[0][: -len("-link")], self._open[1])
        elif self._open and tag == self._open[0]:
            text = "".join(self._text)
            if tag == "p":
                self.paragraphs.append(text)
            else:
                self.headings.append((int(tag[1]), _key(text), self._open[1]))
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open and not self._open[0].endswith("-link"):
            self._text.append(data)


def _rendered(site: Path, page: Path) -> _Rendered:
    html = site / ("index.html" if page.stem == "index" else f"{page.stem}/index.html")
    parser = _Rendered()
    parser.feed(html.read_text(encoding="utf-8"))
    return parser


ALL_PAGES = sorted((ROOT / "docs").glob("*.md"))


@pytest.mark.parametrize("page", ALL_PAGES, ids=[p.name for p in ALL_PAGES])
def test_rendered_headings_are_the_intended_ones(site: Path, page: Path) -> None:
    """Every heading on the built page is one its Markdown means (a line starting ``#03-B``
    is a heading to Python-Markdown, not to the writer), in order, and none is lost."""
    intended, _, generated = _intended(page.read_text(encoding="utf-8"))
    rendered = _rendered(site, page).headings
    written = [(level, key) for level, key, doc in rendered if not (generated and doc)]
    assert written == intended, f"{page.name}: rendered {written}, intended {intended}"


@pytest.mark.parametrize("page", ALL_PAGES, ids=[p.name for p in ALL_PAGES])
def test_rendered_tables_are_tables(site: Path, page: Path) -> None:
    """Each Markdown table renders as a table, never as a paragraph of pipes."""
    _, tables, generated = _intended(page.read_text(encoding="utf-8"))
    rendered = _rendered(site, page)
    pipes = [text for text in rendered.paragraphs if text.lstrip().startswith("|")]
    assert pipes == [], f"{page.name}: table rows rendered as text: {pipes}"
    if generated:
        assert rendered.tables >= tables, page.name
    else:
        assert rendered.tables == tables, f"{page.name}: {rendered.tables} tables, {tables} meant"


def test_the_rendered_check_sees_a_stray_heading(tmp_path: Path) -> None:
    """The check's own reference: a ``#03-B`` line at the start of a line is no intended
    heading, while Python-Markdown renders it as one."""
    markdown = "# Title\n\nText, and\n#03-B, more.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert _intended(markdown) == ([(1, "title")], 1, False)
    parser = _Rendered()
    parser.feed(
        '<article><h1 id="t">Title<a class="headerlink" href="#t">&para;</a></h1>'
        "<p>Text, and</p><h1>03-B, more.</h1><p>| a | b |</p></article>"
    )
    assert parser.headings == [(1, "title", False), (1, "03bmore", False)]
    assert parser.paragraphs == ["Text, and", "| a | b |"] and parser.tables == 0
