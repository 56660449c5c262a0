"""Refreshes the translation catalogues: `make messages`.

Source strings are written in French. The Arabic catalogue is translated by hand; the French one is
filled with the source text itself, because Django falls back to the default language (Arabic) for
any string a catalogue leaves empty.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "marsad" / "locale"
ENTRY = re.compile(r'(msgid ((?:"(?:[^"\\]|\\.)*"\n)+))msgstr ((?:"(?:[^"\\]|\\.)*"\n)+)')
STRINGS = r'((?:"(?:[^"\\]|\\.)*"\n)+)'
PLURAL = re.compile(rf"msgid {STRINGS}msgid_plural {STRINGS}msgstr\[0\] {STRINGS}msgstr\[1\] {STRINGS}")


def run(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "config.manage", *args], cwd=ROOT / "marsad", check=True)


def fill_french(path: Path) -> None:
    text = path.read_text(encoding="utf-8")

    def identity(match: re.Match) -> str:
        if match.group(2) == '""\n':
            return match.group(0)  # the header
        return f"{match.group(1)}msgstr {match.group(2)}"

    def plural_identity(match: re.Match) -> str:
        singular, plural = match.group(1), match.group(2)
        return f"msgid {singular}msgid_plural {plural}msgstr[0] {singular}msgstr[1] {plural}"

    text = ENTRY.sub(identity, text).replace('"Language: \\n"', '"Language: fr\\n"')
    text = PLURAL.sub(plural_identity, text)
    french_plurals = '"Plural-Forms: nplurals=2; plural=(n > 1);\\n"'
    text = re.sub(r'"Plural-Forms: .*\\n"', lambda _: french_plurals, text)
    # Every entry is the identity, so gettext's guesses (fuzzy flags, previous msgids) are moot.
    text = re.sub(r"^#, fuzzy\n", "", text, flags=re.MULTILINE)
    text = re.sub(r"^#, fuzzy, ", "#, ", text, flags=re.MULTILINE)
    text = re.sub(r"^#\| .*\n", "", text, flags=re.MULTILINE)
    path.write_text(text, encoding="utf-8")


def untranslated(path: Path) -> list[str]:
    """Entries with no translation, or a fuzzy one (which compilemessages leaves out)."""
    text = path.read_text(encoding="utf-8")
    missing = [
        f"fuzzy entry near line {text[: m.start()].count(chr(10)) + 1}" for m in re.finditer("#, fuzzy", text)
    ]
    for match in ENTRY.finditer(text):
        if match.group(2) != '""\n' and match.group(3) == '""\n':
            missing.append(match.group(2).strip())
    empty_form = re.compile(
        r'msgid_plural ("(?:[^"\\]|\\.)*")\n(?:msgstr\[\d+\] .*\n)*?msgstr\[\d+\] ""\n(?!")'
    )
    for match in empty_form.finditer(text):
        missing.append(f"{match.group(1)} (a plural form)")
    return missing


def main() -> int:
    run("makemessages", "-l", "ar", "-l", "fr", "--no-location", "-i", "tests/*")
    fill_french(LOCALE / "fr" / "LC_MESSAGES" / "django.po")
    run("compilemessages", "-l", "ar", "-l", "fr")
    missing = untranslated(LOCALE / "ar" / "LC_MESSAGES" / "django.po")
    for msgid in missing:
        print(f"untranslated in Arabic: {msgid}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
