"""course.tokenize: the word and character rules, and Vocab's contract (ids round-trip)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from course.tokenize import CHAR_ALPHABET, EOS, UNK, UNK_CHAR, Vocab, chars, normalize_chars, words


def test_words_lower_cases_and_keeps_punctuation_as_tokens():
    assert words("The Cat sat.") == ["the", "cat", "sat", "."]
    assert words("Don't stop, anti-statism (1539)!") == ["don't", "stop", ",", "anti-statism", "(", "1539", ")", "!"]
    assert words("It cost 1,000.50 dollars") == ["it", "cost", "1,000.50", "dollars"]
    assert words("Café Étienne") == ["café", "étienne"]
    assert words("  ") == []


def test_chars_normalise_to_the_closed_alphabet():
    assert normalize_chars("Étienne’s “Café” – 20° #1") == "etienne's \"cafe\" - 20 ~1"
    assert normalize_chars("a\t\t b\nC") == "a b\nc"
    assert normalize_chars("Ἀναρχία") == ""                       # no ASCII form: dropped
    assert chars("Ab!") == ["a", "b", "!"]
    assert chars("Ab", normalize=False) == ["A", "b"]
    assert len(set(CHAR_ALPHABET)) == len(CHAR_ALPHABET) and CHAR_ALPHABET[-1] == UNK_CHAR


@given(st.text(max_size=200))
@settings(max_examples=200, deadline=None)
def test_normalised_characters_always_lie_in_the_alphabet(s):
    out = normalize_chars(s)
    assert set(out) <= set(CHAR_ALPHABET)
    assert normalize_chars(out) == out                              # idempotent


def test_vocab_build_orders_specials_then_frequency_then_alphabet():
    v = Vocab.build("b a c a b a d".split(), specials=(UNK, EOS))
    assert v.itos == [UNK, EOS, "a", "b", "c", "d"]               # a:3, b:2, c and d tie: alphabetical
    assert v["a"] == 2 and v["zzz"] == v.unk_id == 0 and v.lookup(3) == "b" and len(v) == 6
    assert list(v.counts) == [0, 0, 3, 2, 1, 1]
    assert Vocab.build("b a c a b a d".split(), min_freq=2).itos == [UNK, "a", "b"]
    assert Vocab.build("b a c a b a d".split(), max_size=3).itos == [UNK, "a", "b"]  # specials count
    assert "a" in v and "zzz" not in v


def test_vocab_encode_decode_and_unknowns():
    v = Vocab.build(["x", "y", "y"])
    ids = v.encode(["y", "x", "q"])
    assert ids.dtype == np.int64 and ids.tolist() == [1, 2, 0]
    assert v.decode(ids) == ["y", "x", UNK]
    assert v.decode(np.array([[1, 2]])) == ["y", "x"]
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        v.decode([3])
    no_unk = Vocab.build(["x"], specials=())
    with pytest.raises(KeyError, match="<unk>"):
        no_unk["q"]
    with pytest.raises(ValueError, match="max_size"):
        Vocab.build(["x"], max_size=0)
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build(["x"], min_freq=0)


@given(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=60), st.data())
@settings(max_examples=150, deadline=None)
def test_encode_decode_round_trip(train, data):
    v = Vocab.build(train, specials=(UNK, EOS))
    seq = data.draw(st.lists(st.sampled_from(sorted(set(train) | {EOS})), max_size=40))
    assert v.decode(v.encode(seq)) == seq
    ids = data.draw(st.lists(st.integers(0, len(v) - 1), max_size=40))
    assert v.encode(v.decode(ids)).tolist() == ids
    unseen = [t + "\x00" for t in seq]                               # never in the vocabulary
    assert v.decode(v.encode(unseen)) == [UNK] * len(seq)
