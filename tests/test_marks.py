"""Whether two trademarks are the same or similar marks (registry-rules §3.2, Art. 3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ippledge.rights.marks import DIFFERENT, IDENTICAL, JUDGEMENT, SIMILAR, compare, normalise


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("ZEPHYRQ", "KOALAMOTOR", DIFFERENT),      # same goods, plainly different marks: need not go together
    ("ZEPHYRQ", "zephyrq", IDENTICAL),         # case does not matter
    ("ＡＢＣ-1", "abc 1", IDENTICAL),           # nor width, spaces or punctuation
    ("ZEPHYR", "ZEPHYRQ", SIMILAR),            # one contains the other
    ("小米", "小迷", SIMILAR),                  # same pinyin
    ("华为", "HUAWEI", SIMILAR),               # the characters read as the Latin word
    ("KOALA", "KOALB", SIMILAR),               # one character apart
    ("", "示范", JUDGEMENT),                    # a figurative mark: a registrar judges
    ("ABCDEFG", "ABCDXYG", JUDGEMENT),         # close in a long word: borderline
    ("AB", "CD", DIFFERENT),
])
def test_compare(a, b, expected):
    assert compare(a, b) == expected


@given(st.text(max_size=12), st.text(max_size=12))
def test_compare_is_symmetric(a, b):
    assert compare(a, b) == compare(b, a)


@given(st.text(min_size=1, max_size=12))
def test_a_word_mark_is_identical_to_itself(text):
    if normalise(text):
        assert compare(text, text) == IDENTICAL
