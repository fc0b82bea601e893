"""course.tokenize: the word and character rules, and Vocab's contract (ids round-trip)."""
import collections

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


# ---------------------------------------------------------------- byte-pair encoding
from course.tokenize import BPE, END_OF_WORD  # noqa: E402


def test_bpe_learns_the_textbook_merges():
    # Sennrich et al.'s example: low x5, lower x2, newest x6, widest x3
    tokens = ["low"] * 5 + ["lower"] * 2 + ["newest"] * 6 + ["widest"] * 3
    bpe = BPE.train(tokens, num_merges=4)
    # e s: 9 (newest, widest); then es t: 9; then est</w>... (here t is the last letter: "t</w>")
    assert bpe.merges[0] == ("e", "s")
    assert bpe.merges[1] == ("es", "t</w>")
    assert bpe.merges[2] == ("l", "o")                                  # 7 (low, lower)
    assert bpe.merges[3] == ("e", "w")          # 6, tied with (n, e) and (w, est</w>): first alphabetically
    assert bpe.segment("newest") == ("n", "ew", "est</w>")
    assert bpe.segment("lowest") == ("lo", "w", "est</w>")              # never seen, built from pieces
    assert bpe.segment("low") == ("lo", "w</w>")
    assert "est</w>" in bpe.symbols and "w" in bpe.symbols


def test_bpe_merges_counted_by_a_brute_force_loop():
    tokens = words("the cat sat on the mat and the hat sat on the cat then the rat ran at that hat")
    bpe = BPE.train(tokens, num_merges=12)
    seqs = {w: list(w[:-1]) + [w[-1] + END_OF_WORD] for w in set(tokens)}
    freq = collections.Counter(tokens)
    for merge in bpe.merges:                          # recount every pair from scratch at each step
        pairs = collections.Counter()
        for w, s in seqs.items():
            for p in zip(s, s[1:]):
                pairs[p] += freq[w]
        top = max(pairs.values())
        assert merge == min(p for p, c in pairs.items() if c == top)
        for w, s in seqs.items():
            out, j = [], 0
            while j < len(s):
                if j + 1 < len(s) and (s[j], s[j + 1]) == merge:
                    out.append(s[j] + s[j + 1]); j += 2
                else:
                    out.append(s[j]); j += 1
            seqs[w] = out
    assert all(bpe.segment(w) == tuple(s) for w, s in seqs.items())


@given(st.lists(st.text(alphabet="abcde .,'", min_size=1, max_size=12), min_size=1, max_size=30),
       st.text(alphabet="abcdexyz .,'", max_size=60), st.integers(0, 40))
@settings(max_examples=80, deadline=None)
def test_bpe_round_trips_any_text(train_texts, text_, merges):
    bpe = BPE.train([t for s in train_texts for t in words(s)], num_merges=merges)
    pieces = bpe.tokenize(text_)
    assert bpe.detokenize(pieces) == words(text_)
    assert len(pieces) >= len(words(text_))
