"""Text normalisation for search: one key that matches Arabic and French names however they are typed.

French: case and accents do not count (« Fès » = « fes »). Arabic: diacritics (harakat) and tatweel
do not count, the hamza forms of alef (أ إ آ ٱ) are alef, ؤ is و, ئ and ى are ي, ة is ه, and the
Persian keh and yeh typed on some keyboards are ك and ي. Punctuation, hyphens and apostrophes
separate words; runs of spaces collapse to one.
"""

import re
import unicodedata

# Folded with str.replace, each only where it occurs: several times faster than str.translate on
# Arabic text. No replacement is itself folded again, so the order does not matter.
_ARABIC_FOLDS = (
    ("أ", "ا"),
    ("إ", "ا"),
    ("آ", "ا"),
    ("ٱ", "ا"),
    ("ؤ", "و"),
    ("ئ", "ي"),
    ("ى", "ي"),
    ("ی", "ي"),
    ("ة", "ه"),
    ("ک", "ك"),
    ("ـ", ""),  # tatweel
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# The combining marks of the Basic Multilingual Plane (accents, harakat), removed in one pass; text
# with characters beyond that plane takes the character-by-character way.
_COMBINING = re.compile(
    "[{}]".format("".join(re.escape(chr(c)) for c in range(0x300, 0x10000) if unicodedata.combining(chr(c))))
)


def _fold_arabic(text: str) -> str:
    for letter, folded in _ARABIC_FOLDS:
        if letter in text:
            text = text.replace(letter, folded)
    return text


def normalize_search(text: str | None) -> str:
    """The search key of a text: lower case, no accents or harakat, hamza and taa marbuta folded."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", _fold_arabic(text))
    if _ASTRAL.search(decomposed) is None:
        stripped = _COMBINING.sub("", decomposed)
    else:
        stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # Punctuation, hyphens, apostrophes and spaces separate the words.
    return " ".join(_WORD.findall(_fold_arabic(stripped).casefold()))


# Arabic clitics glued to the definite article: ال, وال, بال, كال, فال, and لل (لـ + الـ, whose alef
# drops: للداخلة is "to Dakhla"). Stripped at the start of each word (of at least two more letters) so
# that الداخلة, للداخلة and بالداخلة share one key: one pass over the normalised words.
_ARTICLE = re.compile(r"(?<!\S)(?:[وفبك]?ال|لل)(?=\w{2})")


def search_words(text: str | None) -> list[str]:
    """Words to index and to look for in free-text search of records: the normalised words with the
    Arabic definite article and the particles glued to it removed."""
    return search_key(text).split()


def search_key(text: str | None) -> str:
    return _ARTICLE.sub("", normalize_search(text))
