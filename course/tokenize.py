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

Subwords (``BPE``): byte-pair encoding learned on word tokens, a middle way
between the two: ``BPE.train(words(text), num_merges=1000).tokenize(text)``.

Boundary tokens: ``BOS = "<s>"`` (pads the context before a sentence; never
predicted), ``EOS = "</s>"`` (predicted once at the end of each sentence),
``UNK = "<unk>"``, ``PAD = "<pad>"`` (padding in batches; pair it with
``CrossEntropyLoss(ignore_index=vocab[PAD])``).
"""
from __future__ import annotations

import collections
import operator
import re
import unicodedata
from typing import Iterable, Sequence

import numpy as np

__all__ = ["UNK", "BOS", "EOS", "PAD", "UNK_CHAR", "CHAR_ALPHABET", "END_OF_WORD", "Vocab", "BPE", "words",
           "chars", "normalize_chars"]

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
        kept = sorted((tc for tc in freq.items() if tc[1] >= min_freq and tc[0] not in specials))  # by token
        kept = [t for t, _ in sorted(kept, key=operator.itemgetter(1), reverse=True)]  # stable: ties keep A-Z
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


#: Marks the last piece of a word in ``BPE`` ("low" -> "lo", "w</w>"), so pieces join back into words.
END_OF_WORD = "</w>"


class BPE:
    """Byte-pair encoding (Sennrich et al. 2016) over the word tokens of ``words``.

    Start from the characters of each word, the last one marked with
    ``END_OF_WORD`` (``"low"`` -> ``l o w</w>``); repeatedly merge the most
    frequent adjacent pair of symbols in the training words (counted with the
    word frequencies; ties go to the alphabetically first pair) into a new
    symbol, ``num_merges`` times. Encoding a word replays the merges in the
    order learned (lowest rank first). Frequent words become one piece, rare
    words several, and no word is ever unknown if its characters were seen.

    ``BPE.train(tokens, num_merges=1000)`` from word tokens (``words(text)``);
    ``.segment(word)`` -> pieces of one word; ``.tokenize(text)`` -> pieces of a
    text (``words`` first, so the word rule applies); ``.detokenize(pieces)`` ->
    the word tokens back (``detokenize(tokenize(t)) == words(t)``); ``.symbols``
    every symbol it can output (build a ``Vocab`` from them); ``.merges`` the
    learned pairs in order.
    """

    def __init__(self, merges: Sequence[tuple[str, str]], alphabet: Iterable[str] = ()):
        self.merges = [tuple(m) for m in merges]
        self.ranks = {m: i for i, m in enumerate(self.merges)}
        self.symbols = sorted(set(alphabet)) + [a + b for a, b in self.merges]
        self._cache: dict[str, tuple[str, ...]] = {}

    @staticmethod
    def _start(word: str) -> list[str]:
        return list(word[:-1]) + [word[-1] + END_OF_WORD]

    @classmethod
    def train(cls, tokens: Iterable[str], num_merges: int = 1000) -> "BPE":
        import heapq

        if num_merges < 0:
            raise ValueError(f"num_merges is the number of merges to learn, >= 0; got {num_merges}")
        freq = collections.Counter(t for t in tokens if t)
        types = list(freq)
        syms = [cls._start(w) for w in types]
        counts = [freq[w] for w in types]
        alphabet = {s for word in syms for s in word}
        pairs: collections.Counter = collections.Counter()
        where = collections.defaultdict(set)                # pair -> ids of words that (may) hold it
        for i, word in enumerate(syms):
            for p in zip(word, word[1:]):
                pairs[p] += counts[i]
                where[p].add(i)
        heap = [(-c, p) for p, c in pairs.items()]
        heapq.heapify(heap)
        merges = []
        while len(merges) < num_merges and heap:
            c, best = heapq.heappop(heap)
            if pairs.get(best, 0) != -c or c == 0:
                continue                                    # stale entry: the count changed since
            merges.append(best)
            merged = best[0] + best[1]
            changed = set()
            for i in where.pop(best, ()):
                word = syms[i]
                if not any(p == best for p in zip(word, word[1:])):
                    continue
                for p in zip(word, word[1:]):
                    pairs[p] -= counts[i]
                    changed.add(p)
                out, j = [], 0
                while j < len(word):
                    if j + 1 < len(word) and (word[j], word[j + 1]) == best:
                        out.append(merged)
                        j += 2
                    else:
                        out.append(word[j])
                        j += 1
                syms[i] = out
                for p in zip(out, out[1:]):
                    pairs[p] += counts[i]
                    where[p].add(i)
                    changed.add(p)
            pairs.pop(best, None)
            for p in changed:
                if pairs.get(p, 0) > 0:
                    heapq.heappush(heap, (-pairs[p], p))
                else:
                    pairs.pop(p, None)
        return cls(merges, alphabet)

    def segment(self, word: str) -> tuple[str, ...]:
        """The pieces of one word (the merges replayed, lowest rank first)."""
        if word in self._cache:
            return self._cache[word]
        if not word:
            return ()
        pieces = self._start(word)
        ranks = self.ranks
        while len(pieces) > 1:
            rank, j = min((ranks.get(p, len(ranks)), j) for j, p in enumerate(zip(pieces, pieces[1:])))
            if rank == len(ranks):
                break
            pieces[j:j + 2] = [pieces[j] + pieces[j + 1]]
        self._cache[word] = out = tuple(pieces)
        return out

    def tokenize(self, text: str) -> list[str]:
        """BPE pieces of ``text``: ``words(text)`` and each word segmented."""
        return [p for w in words(text) for p in self.segment(w)]

    def detokenize(self, pieces: Iterable[str]) -> list[str]:
        """The word tokens back from pieces (a word ends at a piece ending in ``END_OF_WORD``)."""
        out, current = [], ""
        for p in pieces:
            if p.endswith(END_OF_WORD):
                out.append(current + p[: -len(END_OF_WORD)])
                current = ""
            else:
                current += p
        if current:
            out.append(current)
        return out

    def __repr__(self) -> str:
        return f"BPE({len(self.merges)} merges, {len(self.symbols)} symbols)"
