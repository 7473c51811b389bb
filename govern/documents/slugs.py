"""Web addresses of documents, made from their titles in any script."""

import re
import unicodedata

SLUG_MAX = 80
# Made from a title without a single letter or digit ("★★★").
FALLBACK_SLUG = "document"


def slugify(title: str) -> str:
    """The web address made from a title: "Règles de vie" gives regles-de-vie, "행동 강령"
    gives 행동-강령; letters of any script are kept, accents on Latin letters dropped."""
    return _slug_of(title)[:SLUG_MAX].strip("-") or FALLBACK_SLUG


def is_valid_slug(slug: str) -> bool:
    """Whether `slug` is what slugify could have made: lowercase letters (of any script),
    digits and marks, in words joined by single dashes."""
    return 0 < len(slug) <= SLUG_MAX and _slug_of(slug) == slug


def _slug_of(text: str) -> str:
    characters = []
    for character in unicodedata.normalize("NFKC", text).lower():
        if character.isalnum() or unicodedata.category(character).startswith("M"):
            characters.append(_without_accent(character))
        else:
            characters.append("-")
    return re.sub(r"-+", "-", "".join(characters)).strip("-")


def _without_accent(character: str) -> str:
    """é -> e, but a Hangul syllable or a Devanagari vowel sign stays as it is."""
    base = "".join(
        c for c in unicodedata.normalize("NFD", character) if not unicodedata.combining(c)
    )
    return base if base and base.isascii() else character
