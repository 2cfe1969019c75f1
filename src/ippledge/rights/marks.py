"""Whether two trademarks are the same or similar marks (商标法 Art. 3 of the pledge rules: identical or
similar marks on identical or similar goods are pledged together).

The goods half (same Nice class and similarity group) is decided by the caller; this module decides the
marks half from the mark text, as registry-rules §3.2 says: identical after normalisation is automatic,
near-identical word marks are similar, and anything needing judgement goes to a registrar.

Pure module (no Django).
"""

from __future__ import annotations

import unicodedata

from pypinyin import Style, lazy_pinyin

IDENTICAL = "identical"
SIMILAR = "similar"
JUDGEMENT = "judgement"   # a person decides: figurative marks, borderline words
DIFFERENT = "different"


def normalise(text: str) -> str:
    """Case, full/half width, spaces and punctuation do not make a mark different."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def _reading(text: str) -> str:
    """How a word mark sounds: Chinese characters by their pinyin without tones, the rest as written."""
    return "".join(lazy_pinyin(text, style=Style.NORMAL, errors=lambda chars: list(chars)))


def _distance(a: str, b: str, cap: int = 3) -> int:
    """Levenshtein distance, stopping early once it exceeds ``cap``."""
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > cap:
            return cap + 1
        previous = current
    return previous[-1]


def compare(a: str, b: str) -> str:
    """``identical``, ``similar``, ``judgement`` or ``different`` for two marks' texts.

    A mark with no text is figurative: whether it resembles another is a registrar's judgement.
    """
    x, y = normalise(a), normalise(b)
    if not x or not y:
        return JUDGEMENT
    if x == y:
        return IDENTICAL
    if _reading(x) == _reading(y):
        return SIMILAR                      # same pinyin: 华为 / 華為 / HUAWEI-as-pinyin
    shorter, longer = sorted((x, y), key=len)
    if len(shorter) >= 2 and shorter in longer:
        return SIMILAR                      # one contains the other: ZEPHYR / ZEPHYRQ
    distance = _distance(x, y)
    if distance == 1 and len(shorter) >= 2:
        return SIMILAR                      # one character apart
    if distance == 2 and len(shorter) >= 5:
        return JUDGEMENT                    # borderline: close in a long word
    return DIFFERENT
