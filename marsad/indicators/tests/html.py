"""Reading figures back from a page's HTML, as a reader sees them (text of an element, rows of a table)."""

import html
import re

TAG = re.compile(r"<[^>]+>")
SPACE = re.compile(r"[ \t\r\n\f]+")  # not the no-break space the figures hold


def plain(fragment: str) -> str:
    """The text of an HTML fragment, its spaces collapsed."""
    return SPACE.sub(" ", html.unescape(TAG.sub(" ", fragment))).strip()


def by_testid(page: str, name: str) -> str:
    """The text of the element marked ``data-testid="name"`` (one, not nested in its own kind)."""
    found = re.findall(rf'<(\w+)[^>]*data-testid="{re.escape(name)}"[^>]*>(.*?)</\1>', page, re.S)
    assert len(found) == 1, (name, len(found))
    return plain(found[0][1])


def section(page: str, marker: str) -> str:
    """The ``<section>`` whose opening tag holds ``marker`` (such as ``data-panel="schedule"``)."""
    found = re.findall(rf"<section[^>]*{re.escape(marker)}[^>]*>.*?</section>", page, re.S)
    assert len(found) == 1, (marker, len(found))
    return found[0]


def table_rows(page: str, table_class: str) -> list[list[str]]:
    """The body rows of the table of class ``table_class``, as the texts of their cells."""
    found = re.findall(rf'<table class="{re.escape(table_class)}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert len(found) == 1, (table_class, len(found))
    return [
        [plain(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", found[0], re.S)
    ]
