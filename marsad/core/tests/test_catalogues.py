"""Every interface string is translated into Arabic, and the compiled catalogues match their sources."""

import gettext
import re
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[2] / "locale"
ENTRY = re.compile(r'msgid ((?:"(?:[^"\\]|\\.)*"\n)+)msgstr ((?:"(?:[^"\\]|\\.)*"\n)+)')


def entries(language: str) -> dict[str, str]:
    text = (LOCALE / language / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    assert "#, fuzzy" not in text, f"{language}: fuzzy entries are left out of the compiled catalogue"

    def unquote(block: str) -> str:
        return (
            "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', block))
            .encode()
            .decode("unicode_escape")
            .encode("latin-1")
            .decode("utf-8")
        )

    return {unquote(m.group(1)): unquote(m.group(2)) for m in ENTRY.finditer(text) if m.group(1) != '""\n'}


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_catalogue_is_complete_and_compiled(language):
    source = entries(language)
    assert len(source) > 100
    assert [msgid for msgid, msgstr in source.items() if not msgstr] == []
    with open(LOCALE / language / "LC_MESSAGES" / "django.mo", "rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    for msgid, msgstr in source.items():
        assert catalogue.gettext(msgid) == msgstr, msgid


def test_french_catalogue_repeats_the_french_source():
    assert all(msgid == msgstr for msgid, msgstr in entries("fr").items())


def test_arabic_catalogue_is_arabic():
    arabic = re.compile("[\u0600-\u06ff]")
    untranslated = [msgid for msgid, msgstr in entries("ar").items() if not arabic.search(msgstr)]
    assert untranslated == ["2014"]  # a year reads the same in both
