"""Text normalisation for search: one key that matches Arabic and French names however they are typed.

French: case and accents do not count (« Fès » = « fes »). Arabic: diacritics (harakat) and tatweel
do not count, the hamza forms of alef (أ إ آ ٱ) are alef, ؤ is و, ئ and ى are ي, ة is ه, and the
Persian keh and yeh typed on some keyboards are ك and ي. Punctuation, hyphens and apostrophes
separate words; runs of spaces collapse to one.
"""

import re
import unicodedata

_ARABIC_MAP = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ؤ": "و",
        "ئ": "ي",
        "ى": "ي",
        "ی": "ي",
        "ة": "ه",
        "ک": "ك",
        "ـ": None,  # tatweel
    }
)
_SEPARATORS = re.compile(r"[\W_]+", re.UNICODE)
# The combining marks of the Basic Multilingual Plane (accents, harakat), removed in one pass; text
# with characters beyond that plane takes the character-by-character way.
_COMBINING = re.compile(
    "[{}]".format("".join(re.escape(chr(c)) for c in range(0x300, 0x10000) if unicodedata.combining(chr(c))))
)


def normalize_search(text: str | None) -> str:
    """The search key of a text: lower case, no accents or harakat, hamza and taa marbuta folded."""
    if not text:
        return ""
    text = text.translate(_ARABIC_MAP)
    decomposed = unicodedata.normalize("NFKD", text)
    if max(decomposed) <= "\uffff":
        stripped = _COMBINING.sub("", decomposed)
    else:
        stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = stripped.translate(_ARABIC_MAP).casefold()
    return " ".join(_SEPARATORS.sub(" ", stripped).split())


# Arabic clitics glued to the definite article: ال, وال, بال, كال, فال, and لل (لـ + الـ, whose alef
# drops: للداخلة is "to Dakhla"). Stripped so that الداخلة, للداخلة and بالداخلة share one key.
_ARTICLE = re.compile(r"^(?:[وفبك]?ال|لل)(?=\w{2})")


def search_words(text: str | None) -> list[str]:
    """Words to index and to look for in free-text search of records: the normalised words with the
    Arabic definite article and the particles glued to it removed."""
    return [_ARTICLE.sub("", word) for word in normalize_search(text).split()]


def search_key(text: str | None) -> str:
    return " ".join(search_words(text))
