"""Tokenizers and the vocabulary shared by every language model of the course (Units 3-5).

A *token* is a string; a model only ever sees integer ids. ``Vocab`` is the
two-way table between them::

    vocab = Vocab.build(tokens, min_freq=2, specials=(UNK, EOS))
    ids = vocab.encode(["the", "cat"])        # np.ndarray int64
    vocab.decode(ids)                         # ["the", "cat"]
    vocab["zyzzyva"] == vocab.unk_id          # unknown -> the <unk> id

Word rule (``words``): lower-case the text, then a token is either

- a run of letters and digits (any alphabet: ``"café"``, ``"1539"``), which may
  contain inner apostrophes or hyphens joining two such runs (``"don't"``,
  ``"anti-statism"``) and inner ``.``/``,`` between digits (``"3.5"``, ``"1,000"``); or
- a single punctuation or symbol character (``"," "." "(" "$"``): punctuation is
  kept, one token per mark, so a model learns where sentences end.

White space separates tokens and is dropped, so ``" ".join(words(s))`` is not
always ``s`` (``"end." -> ["end", "."]``); ids round-trip exactly
(``vocab.decode(vocab.encode(t)) == t`` for in-vocabulary tokens).

Character rule (``chars`` / ``normalize_chars``): Unicode NFKD (``"é" -> "e" +
accent``), typographic quotes and dashes to their ASCII forms, drop what is
left outside ASCII (accents, Greek, CJK), lower-case, runs of spaces and tabs
-> one space (newlines kept), and any remaining character outside
``CHAR_ALPHABET`` becomes ``UNK_CHAR``. The alphabet is closed: a character
model over ``CHAR_ALPHABET`` never meets an unknown character on new text.

Boundary tokens: ``BOS = "<s>"`` (pads the context before a sentence; never
predicted), ``EOS = "</s>"`` (predicted once at the end of each sentence),
``UNK = "<unk>"``, ``PAD = "<pad>"`` (padding in batches; pair it with
``CrossEntropyLoss(ignore_index=vocab[PAD])``).
"""
from __future__ import annotations

import collections
import re
import unicodedata
from typing import Iterable, Sequence

import numpy as np

__all__ = ["UNK", "BOS", "EOS", "PAD", "UNK_CHAR", "CHAR_ALPHABET", "Vocab", "words", "chars",
           "normalize_chars"]

UNK, BOS, EOS, PAD = "<unk>", "<s>", "</s>", "<pad>"

#: The replacement for a character outside the alphabet (after normalisation).
UNK_CHAR = "~"
#: Every character ``normalize_chars`` can return: newline, space, lower-case
#: ASCII letters, digits, common punctuation, and ``UNK_CHAR`` last (56 in all).
CHAR_ALPHABET = "\n !\"$%&'()*+,-./0123456789:;?abcdefghijklmnopqrstuvwxyz" + UNK_CHAR

_WORD = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:['\u2019\-][^\W_]+)*|[^\w\s]|_")
_ASCII_FORMS = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                              "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
                              "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
                              "\u2015": "-", "\u2212": "-", "\u00a0": " ", "\u2009": " ", "\u202f": " "})
_OUTSIDE = re.compile("[^" + re.escape(CHAR_ALPHABET) + "]")
_SPACES = re.compile(r"[ \t\r\f\v]+")


def words(text: str) -> list[str]:
    """Word tokens of ``text``: lower-cased, punctuation marks kept as their own tokens.

    >>> words("Anarchism's roots: 1,000 anti-statist ideas.")
    ["anarchism's", 'roots', ':', '1,000', 'anti-statist', 'ideas', '.']
    """
    return _WORD.findall(text.lower())


def normalize_chars(text: str) -> str:
    """``text`` in the closed character alphabet ``CHAR_ALPHABET`` (rule in the module docstring)."""
    text = unicodedata.normalize("NFKD", text.translate(_ASCII_FORMS)).translate(_ASCII_FORMS)
    text = text.encode("ascii", "ignore").decode("ascii").lower()
    text = _SPACES.sub(" ", text)
    return _OUTSIDE.sub(UNK_CHAR, text)


def chars(text: str, normalize: bool = True) -> list[str]:
    """Character tokens of ``text``: ``list(normalize_chars(text))`` (or the raw characters)."""
    return list(normalize_chars(text) if normalize else text)


class Vocab:
    """A fixed table token <-> id.

    ``Vocab.build(tokens, min_freq=1, max_size=None, specials=("<unk>",))``:
    ids ``0 .. len(specials)-1`` are the specials, in the order given; then the
    tokens seen at least ``min_freq`` times, most frequent first (ties in
    alphabetical order, so the table is deterministic). ``max_size`` caps
    ``len(vocab)``, specials included.

    ``vocab[token]`` -> id (an unknown token -> ``vocab.unk_id``, the id of
    ``"<unk>"``; a ``KeyError`` if there is no ``"<unk>"``), ``vocab.lookup(i)``
    -> token, ``len(vocab)``, ``token in vocab``, ``vocab.encode(tokens)`` ->
    ``np.ndarray`` int64 ``(L,)``, ``vocab.decode(ids)`` -> list of tokens.
    ``vocab.itos`` (list) and ``vocab.stoi`` (dict) are the two tables;
    ``vocab.counts`` the training frequency of each id (0 for unseen specials).
    """

    def __init__(self, itos: Sequence[str], counts: Sequence[int] | None = None):
        itos = list(itos)
        self.stoi = {t: i for i, t in enumerate(itos)}
        if len(self.stoi) != len(itos):
            dup = [t for t, c in collections.Counter(itos).items() if c > 1]
            raise ValueError(f"a vocabulary lists each token once; repeated: {dup[:5]}")
        self.itos = itos
        self.counts = np.zeros(len(itos), np.int64) if counts is None else np.asarray(counts, np.int64)
        self.unk_id = self.stoi.get(UNK)

    @classmethod
    def build(cls, tokens: Iterable[str], min_freq: int = 1, max_size: int | None = None,
              specials: Sequence[str] = (UNK,)) -> "Vocab":
        if min_freq < 1:
            raise ValueError(f"min_freq is the least count a token needs to get an id, >= 1; got {min_freq}")
        specials = list(specials)
        if max_size is not None and max_size < len(specials):
            raise ValueError(f"max_size={max_size} counts the {len(specials)} specials {specials} too: "
                             f"use max_size >= {len(specials)}")
        freq = collections.Counter(tokens)
        kept = sorted((t for t, c in freq.items() if c >= min_freq and t not in specials),
                      key=lambda t: (-freq[t], t))
        if max_size is not None:
            kept = kept[: max_size - len(specials)]
        itos = specials + kept
        return cls(itos, [freq.get(t, 0) for t in itos])

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        i = self.stoi.get(token, self.unk_id)
        if i is None:
            raise KeyError(f"{token!r} is not in this vocabulary, which has no {UNK!r} to stand for "
                           f"unknown tokens: build it with specials=({UNK!r}, ...)")
        return i

    def lookup(self, i: int) -> str:
        return self.itos[int(i)]

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Ids of ``tokens``, an int64 array ``(L,)`` (unknown tokens -> ``unk_id``)."""
        tokens = tokens if isinstance(tokens, (list, tuple)) else list(tokens)
        try:                                   # fast path: every token known (one C-level map)
            return np.fromiter(map(self.stoi.__getitem__, tokens), np.int64, len(tokens))
        except KeyError:
            pass
        if self.unk_id is None:
            return np.fromiter((self[t] for t in tokens), np.int64, len(tokens))
        get, unk = self.stoi.get, self.unk_id
        return np.fromiter((get(t, unk) for t in tokens), np.int64, len(tokens))

    def decode(self, ids) -> list[str]:
        """Tokens of ``ids`` (any integer array-like ``(L,)``)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"ids must lie in [0, {len(self)}) for this vocabulary of {len(self)} tokens, "
                             f"got values in [{ids.min()}, {ids.max()}]")
        itos = self.itos
        return [itos[i] for i in ids.tolist()]

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self.itos[:6])
        return f"Vocab({len(self)} tokens: {head}{', ...' if len(self) > 6 else ''})"
