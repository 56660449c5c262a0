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


def normalize_search(text: str | None) -> str:
    """The search key of a text: lower case, no accents or harakat, hamza and taa marbuta folded."""
    if not text:
        return ""
    text = text.translate(_ARABIC_MAP)
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = stripped.translate(_ARABIC_MAP).casefold()
    return " ".join(_SEPARATORS.sub(" ", stripped).split())
