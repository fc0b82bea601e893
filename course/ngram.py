"""n-gram language models: count, smooth, roll the die.

A language model gives the probability of a sentence by the chain rule,

    P(w_1 .. w_T) = prod_t P(w_t | w_1 .. w_{t-1}),

and an n-gram model makes the Markov assumption that only the last n-1
tokens matter: P(w_t | w_1 .. w_{t-1}) ~ P(w_t | w_{t-n+1} .. w_{t-1}).
Estimated by counting (maximum likelihood, "mle"):

    bigram  (n=2):  P(w_t | w_{t-1})          = c(w_{t-1}, w_t) / c(w_{t-1})
    trigram (n=3):  P(w_t | w_{t-2}, w_{t-1}) = c(w_{t-2}, w_{t-1}, w_t) / c(w_{t-2}, w_{t-1})

and in general P(w | h) = c(h, w) / c(h) with c(h) = sum_w' c(h, w'), the
number of times the context h was followed by anything.

Boundary tokens (the textbook convention). Each training or test sentence
(a list of tokens: words, or single characters for a character model) is padded
with n-1 ``"<s>"`` in front and exactly one ``"</s>"`` at the end:
``["the", "cat"]`` -> ``<s> <s> the cat </s>`` for n=3. ``"<s>"`` is context
only: it is never predicted and is not in ``.vocab``. ``"</s>"`` is predicted
once per sentence, so a sentence of L tokens contributes L+1 predictions to the
log-likelihood and to the perplexity's token count. (NLTK's
``padded_everygram_pipeline`` pads differently: n-1 ``"</s>"`` and no padding at
all for n=1.)

Vocabulary. ``.vocab`` (a ``course.tokenize.Vocab``) is ``"<unk>"``, ``"</s>"``
and every training token, by frequency; V = ``len(.vocab)``. A token outside it
(in a context or as a prediction) is read as ``"<unk>"``. If the training
sentences never contain ``"<unk>"`` its count is 0: MLE gives it probability 0
(a test sentence with an unknown word has infinite perplexity, the zero-count
problem), add-k and Kneser-Ney give it a little mass. To model rare words, replace
them by ``"<unk>"`` before fitting (``Vocab.build(..., min_freq=2)`` then
``vocab.decode(vocab.encode(s))``).

Smoothing (``c`` are the counts of the n-grams, h the n-1 previous tokens):

- ``"mle"``: c(h, w) / c(h). An unseen context (c(h) = 0) gives 0/0: we return
  the uniform 1/V (what add-k gives there for every k).
- ``"add_k"``: (c(h, w) + k) / (c(h) + k V); ``k=1`` is Laplace's add-one.
- ``"kneser_ney"``: interpolated Kneser-Ney with one absolute discount d
  (Chen & Goodman 1998, eq. for interpolated KN). For the highest order,
  with raw counts,

      P(w | h) = max(c(h, w) - d, 0) / c(h) + d N1+(h .) / c(h) * P_lower(w | h'),

  h' = h without its first token, N1+(h .) = the number of distinct words seen
  after h. Every lower order m < n uses the same formula with *continuation
  counts* N1+(. h' w) (how many distinct words precede h' w) in place of c;
  the unigram level is interpolated the same way with the uniform 1/V, so every
  word of the vocabulary, ``"<unk>"`` included, has P > 0 when d > 0. A context
  never seen at some order (c(h) = 0) passes the lower order's distribution up
  unchanged. With d = 0 a seen context gives exactly the MLE c(h, w)/c(h).
  Every distribution sums to 1 (seen or unseen context).

Counting is vectorized for any n: every m-gram gets a dense id built left to
right, ``id(w_1..w_m) = rank of id(w_1..w_{m-1}) * B + w_m`` among the sorted
keys (``np.unique(return_inverse=True)``), so keys stay far below 2**63 however
large n and V are, and counts come from ``np.bincount`` -- no dict loop over the corpus
(its input cast to ``np.intp``, the platform's index type: 32-bit in the browser).

``NGramLM(n, smoothing="mle" | "add_k" | "kneser_ney", k=1.0, discount=0.75)``;
``.fit(sentences)``; ``.prob(word, context)``; ``.distribution(context)`` (V,);
``.perplexity(sentences)``; ``.nll(sentences)`` -> (total nats, tokens);
``.sample(context, rng, temperature=1.0, top_k=None)``; ``.generate(rng, max_len=30, context=())``;
``.count(ngram)`` the raw count of an m-gram (m <= n); ``.context_count(h)`` c(h);
``.continuation_count(ngram)`` N1+(. ngram) (m < n); ``.token_probs(sentences)``.
``k`` and ``discount`` are read when the model predicts, not when it counts:
set ``model.k = 0.01`` after ``fit`` to tune k on validation text without refitting.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from course import lm
from course.tokenize import BOS, EOS, UNK, Vocab

__all__ = ["NGramLM", "SMOOTHINGS", "ngram_counts"]

SMOOTHINGS = ("mle", "add_k", "kneser_ney")


def ngram_counts(ids: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct n-grams of one id sequence ``ids (L,)`` and their counts: ``(grams (K, n) int64, counts (K,))``.

    The vectorized count of the lectures: the n ids of each window are packed
    into one int64 key ``sum_i ids[t+i] * B**(n-1-i)`` (B = max id + 1; it must
    fit in 63 bits: ``B**n < 2**63``) and counted with ``np.unique``. Rows are in
    lexicographic order.
    """
    ids = np.asarray(ids, dtype=np.int64)
    if ids.ndim != 1 or n < 1:
        raise ValueError(f"ngram_counts wants ids of shape (L,) and n >= 1, got {ids.shape} and n={n}")
    if ids.size < n:
        return np.zeros((0, n), np.int64), np.zeros(0, np.int64)
    base = int(ids.max()) + 1
    if n * np.log2(base) >= 63:
        raise ValueError(f"{base}**{n} does not fit in an int64 key: use NGramLM (dense ids per order) for this n")
    windows = np.lib.stride_tricks.sliding_window_view(ids, n)           # (L-n+1, n), no copy
    keys = windows @ (base ** np.arange(n - 1, -1, -1, dtype=np.int64))  # (L-n+1,)
    uniq, counts = np.unique(keys, return_counts=True)
    grams = (uniq[:, None] // base ** np.arange(n - 1, -1, -1, dtype=np.int64)) % base
    return grams, counts


def _dense_ids(keys: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)`` for keys in [0, space): by a sort, or, when the key
    space is small (characters, low orders), by a bincount of the keys and a running rank (no sort)."""
    if space <= max(4 * keys.size, 1 << 16):
        present = np.bincount(keys.astype(np.intp, copy=False), minlength=space) > 0
        rank = np.cumsum(present) - 1
        return np.flatnonzero(present), rank[keys]
    uniq, inv = np.unique(keys, return_inverse=True)
    return uniq, inv.reshape(-1)


class NGramLM:
    """An n-gram language model (see the module docstring for the formulas and conventions).

    ``n`` >= 1; ``smoothing`` in ``SMOOTHINGS``; ``k`` > 0 for add-k;
    ``discount`` in [0, 1] for Kneser-Ney.
    """

    def __init__(self, n: int, smoothing: str = "mle", k: float = 1.0, discount: float = 0.75):
        if int(n) != n or n < 1:
            raise ValueError(f"n is the order of the model (1 = unigram, 2 = bigram, ...), >= 1; got {n}")
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"smoothing must be one of {SMOOTHINGS}, got {smoothing!r}")
        if smoothing == "add_k" and not k > 0:
            raise ValueError(f"add-k needs k > 0 (k=1 is Laplace; k -> 0 approaches MLE), got {k}")
        if smoothing == "kneser_ney" and not 0 <= discount <= 1:
            raise ValueError(f"the Kneser-Ney discount d must lie in [0, 1] (0.75 is the classic value), got {discount}")
        self.n, self.smoothing, self.k, self.discount = int(n), smoothing, float(k), float(discount)
        self.vocab: Vocab | None = None

    def __repr__(self) -> str:
        extra = {"add_k": f", k={self.k:g}", "kneser_ney": f", discount={self.discount:g}"}.get(self.smoothing, "")
        fitted = f", V={len(self.vocab)}" if self.vocab is not None else ", not fitted"
        return f"NGramLM(n={self.n}, smoothing={self.smoothing!r}{extra}{fitted})"

    # ------------------------------------------------------------------ counting
    def _stream(self, sentences, encode) -> tuple[np.ndarray, np.ndarray]:
        """All sentences padded and concatenated: ids (S,) and the target positions (non-<s>)."""
        sentences = [list(s) for s in sentences]
        lengths = np.array([len(s) for s in sentences], dtype=np.int64)
        n, bos = self.n, self.bos_id
        flat = encode([t for s in sentences for t in s])
        starts = np.concatenate([[0], np.cumsum(lengths + n)[:-1]]).astype(np.int64)  # each sentence's first slot
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)     # its first token in flat
        stream = np.full(int((lengths + n).sum()), bos, dtype=np.int64)
        stream[np.repeat(starts + n - 1 - offsets, lengths.astype(np.intp, copy=False)) + np.arange(flat.size)] = flat
        stream[starts + n - 1 + lengths] = self.vocab.stoi[EOS]
        return stream, np.flatnonzero(stream != bos)

    def _encode_checked(self, tokens) -> np.ndarray:
        if BOS in tokens or EOS in tokens:
            raise ValueError(f"sentences must not contain {BOS!r} or {EOS!r}: the model adds the padding itself "
                             f"(n-1 {BOS!r} in front, one {EOS!r} at the end)")
        return self.vocab.encode(tokens)

    def fit(self, sentences: Sequence[Sequence[str]]) -> "NGramLM":
        """Count every m-gram (m = 1..n) of the padded ``sentences`` (lists of tokens). Returns self."""
        if isinstance(sentences, str) or any(isinstance(s, str) for s in sentences[:1]):
            raise ValueError("fit wants a list of token lists, e.g. [words(s) for s in sentences], not strings")
        sentences = [list(s) for s in sentences]
        if not sentences:
            raise ValueError("fit needs at least one sentence (a list of tokens)")
        flat = [t for s in sentences for t in s]
        self.vocab = Vocab.build(flat, specials=(UNK, EOS))
        V = len(self.vocab)
        self.bos_id, self.base = V, V + 1
        stream, targets = self._stream(sentences, self._encode_checked)
        B, n = self.base, self.n
        gram = [None, stream]                      # gram[m][t]: dense id of the m-gram ending at t
        self.keys = [None, np.arange(B, dtype=np.int64)]
        for m in range(2, n + 1):
            key = gram[m - 1][m - 2:-1] * B + stream[m - 1:]
            uniq, inv = _dense_ids(key, self.keys[m - 1].size * B)
            g = np.full(stream.size, -1, dtype=np.int64)
            g[m - 1:] = inv
            gram.append(g)
            self.keys.append(uniq)
        # raw counts at every order (m-grams ending at a predicted position) ...
        self.counts = [None] + [np.bincount(gram[m][targets].astype(np.intp, copy=False), minlength=self.keys[m].size) for m in range(1, n + 1)]
        # ... and continuation counts N1+(. g) for the lower orders of Kneser-Ney
        self.continuation = [None] * (n + 1)
        for m in range(1, n):
            # one position per distinct (m+1)-gram (a scatter: the last writer wins, any one will do) ...
            where = np.full(self.keys[m + 1].size, -1, dtype=np.int64)
            where[gram[m + 1][targets]] = targets
            where = where[where >= 0]
            # ... and the m-gram ending there is its suffix: one more distinct left extension of it
            self.continuation[m] = np.bincount(gram[m][where].astype(np.intp, copy=False), minlength=self.keys[m].size)
        # per order: the count used, and per context its total and number of distinct followers
        self._used, self._ctx_total, self._ctx_types = [None], [None], [None]
        for m in range(1, n + 1):
            c = self.counts[m] if (m == n or self.smoothing != "kneser_ney") else self.continuation[m]
            c = c[:V] if m == 1 else c                                   # <s> is never predicted
            self._used.append(c)
            if m == 1:
                self._ctx_total.append(np.array([c.sum()]))
                self._ctx_types.append(np.array([np.count_nonzero(c)]))
            else:
                ctx = self.keys[m] // B
                size = self.keys[m - 1].size
                self._ctx_total.append(np.bincount(ctx.astype(np.intp, copy=False), weights=c, minlength=size))
                self._ctx_types.append(np.bincount(ctx.astype(np.intp, copy=False), weights=c > 0, minlength=size))
        self.n_train_tokens = int(targets.size)
        return self

    def _lookup(self, m: int, keys: np.ndarray) -> np.ndarray:
        """Dense ids of m-gram keys (-1 where the m-gram never occurred in training)."""
        table = self.keys[m]
        i = np.searchsorted(table, keys)
        i_safe = np.minimum(i, table.size - 1)
        found = (i < table.size) & (table[i_safe] == keys) & (keys >= 0)
        return np.where(found, i_safe, -1)

    def _check_fitted(self):
        if self.vocab is None:
            raise ValueError(f"this {type(self).__name__} is not fitted: call .fit(sentences) first")

    # ------------------------------------------------------------ probabilities
    def _probs(self, ctx_ids: list[np.ndarray], gram_ids: list[np.ndarray], words: np.ndarray) -> np.ndarray:
        """P(word | context) for arrays: ``ctx_ids[m]`` dense id of the (m-1)-gram context at order m
        (-1 unseen; unused for m=1), ``gram_ids[m]`` dense id of the m-gram (-1 unseen)."""
        V, n = len(self.vocab), self.n

        def level(m):  # count c(h, w), context total c(h) and distinct followers N1+(h .) at order m
            if m == 1:
                c = self._used[1][words].astype(np.float64)
                return c, np.full(words.shape, float(self._ctx_total[1][0])), np.full(words.shape, float(self._ctx_types[1][0]))
            c = np.where(gram_ids[m] >= 0, self._used[m][np.maximum(gram_ids[m], 0)], 0).astype(np.float64)
            h = ctx_ids[m]
            tot = np.where(h >= 0, self._ctx_total[m][np.maximum(h, 0)], 0.0)
            typ = np.where(h >= 0, self._ctx_types[m][np.maximum(h, 0)], 0.0)
            return c, tot, typ

        if self.smoothing != "kneser_ney":
            c, tot, _ = level(n)
            if self.smoothing == "add_k":
                return (c + self.k) / (tot + self.k * V)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(tot > 0, c / np.where(tot > 0, tot, 1.0), 1.0 / V)
        d = self.discount
        p = np.full(words.shape, 1.0 / V)
        for m in range(1, n + 1):
            c, tot, typ = level(m)
            safe = np.where(tot > 0, tot, 1.0)
            p = np.where(tot > 0, (np.maximum(c - d, 0.0) + d * typ * p) / safe, p)
        return p

    def _context_ids(self, context) -> np.ndarray:
        """Token ids of the n-1 previous tokens: the last n-1 of ``context``, left-padded with <s>."""
        if isinstance(context, str):
            raise ValueError(f"context is a tuple of the previous tokens, e.g. ('the', 'cat'), got the string {context!r}")
        context = list(context)[-(self.n - 1):] if self.n > 1 else []
        ids = [self.bos_id if t == BOS else self.vocab[t] for t in context]
        return np.array([self.bos_id] * (self.n - 1 - len(ids)) + ids, dtype=np.int64)

    def distribution(self, context=()) -> np.ndarray:
        """The weighted die: P(w | context) for every w of ``.vocab``, shape (V,), sums to 1.

        ``context``: the previous tokens, a tuple; the last n-1 are used; a
        shorter one is left-padded with ``"<s>"`` (the start of a sentence);
        unknown tokens are read as ``"<unk>"``.
        """
        self._check_fitted()
        V, n, B = len(self.vocab), self.n, self.base
        hist = self._context_ids(context)
        words = np.arange(V, dtype=np.int64)
        ctx_ids, gram_ids = [None, None], [None, words]
        for m in range(2, n + 1):
            h = self._gram_id(hist[len(hist) - (m - 1):])            # the last m-1 context tokens
            ctx_ids.append(np.full(V, h))
            gram_ids.append(self._lookup(m, h * B + words) if h >= 0 else np.full(V, -1))
        return self._probs(ctx_ids, gram_ids, words)

    def _gram_id(self, ids) -> int:
        """Dense id of the gram of token ids ``ids`` (order len(ids)), -1 if never seen."""
        g = int(ids[0])
        for m, tok in enumerate(ids[1:], start=2):
            g = int(self._lookup(m, np.array([g * self.base + int(tok)]))[0]) if g >= 0 else -1
        return g

    def prob(self, word: str, context=()) -> float:
        """P(word | context) (``context`` as in ``distribution``; an unknown word is ``"<unk>"``)."""
        self._check_fitted()
        return float(self.distribution(context)[self.vocab[word]])

    def token_probs(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        """P of every predicted token of the padded ``sentences`` (words and one ``"</s>"`` each), (N,)."""
        self._check_fitted()
        sentences = [list(s) for s in sentences]
        stream, targets = self._stream(sentences, self._encode_checked)
        B = self.base
        gq = [None, stream]
        for m in range(2, self.n + 1):
            prev = gq[m - 1][m - 2:-1]
            g = np.full(stream.size, -1, dtype=np.int64)
            g[m - 1:] = np.where(prev >= 0, self._lookup(m, np.where(prev >= 0, prev, 0) * B + stream[m - 1:]), -1)
            gq.append(g)
        ctx_ids = [None, None] + [gq[m - 1][targets - 1] for m in range(2, self.n + 1)]
        gram_ids = [None] + [gq[m][targets] for m in range(1, self.n + 1)]
        return self._probs(ctx_ids, gram_ids, stream[targets])

    def nll(self, sentences: Sequence[Sequence[str]]) -> tuple[float, int]:
        """(total negative log-likelihood in nats, number of predicted tokens) of ``sentences``."""
        return lm.nll_from_probs(self.token_probs(sentences))

    def perplexity(self, sentences: Sequence[Sequence[str]]) -> float:
        """``exp(mean nll)`` over every predicted token (each sentence's tokens and its ``"</s>"``)."""
        return lm.perplexity(*self.nll(sentences))

    def count(self, ngram: Sequence[str]) -> int:
        """Raw training count of an m-gram (1 <= m <= n), counted at predicted positions of the padded text."""
        self._check_fitted()
        ngram = list(ngram)
        if not 1 <= len(ngram) <= self.n:
            raise ValueError(f"count takes an m-gram with 1 <= m <= n={self.n}, got {len(ngram)} tokens")
        ids = [self.bos_id if t == BOS else self.vocab.stoi.get(t, -1) for t in ngram]
        if min(ids) < 0 or ids[-1] == self.bos_id:
            return 0
        g = self._gram_id(ids)
        return int(self.counts[len(ngram)][g]) if g >= 0 else 0

    def continuation_count(self, ngram: Sequence[str]) -> int:
        """N1+(. ngram): the number of distinct tokens seen just before the m-gram (1 <= m < n)."""
        self._check_fitted()
        if not 1 <= len(ngram) < self.n:
            raise ValueError(f"continuation counts exist for m-grams with 1 <= m < n={self.n}, got {len(ngram)} tokens")
        ids = [self.bos_id if t == BOS else self.vocab.stoi.get(t, -1) for t in ngram]
        g = self._gram_id(ids) if min(ids) >= 0 else -1
        return int(self.continuation[len(ngram)][g]) if g >= 0 else 0

    def context_count(self, context: Sequence[str]) -> int:
        """c(h) = sum_w c(h, w): how often the context h (0 <= len(h) <= n-1 tokens) was followed by a prediction."""
        self._check_fitted()
        m = len(context) + 1
        if m > self.n:
            raise ValueError(f"a context of an n={self.n} model has at most {self.n - 1} tokens, got {len(context)}")
        if m == 1:
            return self.n_train_tokens
        ids = [self.bos_id if t == BOS else self.vocab.stoi.get(t, -1) for t in context]
        h = self._gram_id(ids) if min(ids) >= 0 else -1
        return int(self.counts[m][self.keys[m] // self.base == h].sum()) if h >= 0 else 0

    # ----------------------------------------------------------------- sampling
    def sample(self, context=(), rng=None, temperature: float = 1.0, top_k: int | None = None) -> str:
        """Roll the die ``distribution(context)`` once (``course.lm.sample_from``): a token."""
        return self.vocab.lookup(lm.sample_from(self.distribution(context), rng, temperature, top_k))

    def generate(self, rng=None, max_len: int = 30, context=(), temperature: float = 1.0,
                 top_k: int | None = None) -> list[str]:
        """Sample a sentence token by token until ``"</s>"`` (not returned) or ``max_len`` tokens.

        ``context``: tokens the sentence starts with (returned too); ``rng`` a seed or Generator.
        """
        rng = np.random.default_rng(rng)
        out = list(context)
        while len(out) < max_len:
            token = self.sample(tuple(out), rng, temperature, top_k)
            if token == EOS:
                break
            out.append(token)
        return out
