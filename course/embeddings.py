"""Word embeddings: a V x D matrix of word vectors, cosine similarity, and two ways to learn it.

The seed's picture: a vocabulary of V words, each word ``i`` a row ``W[i]`` of a
matrix ``W: (V, D)``. Looking a word up is multiplying its one-hot vector by ``W``
(``one_hot(i, V) @ W == W[i]``), done as indexing (``course.nn.Embedding``). Every
occurrence of a word uses the same row, so training moves that one row.

Contents, in teaching order:

- ``one_hot(ids, num_classes)``, ``lookup(W, ids)``: the lookup two ways (equal);
- ``cosine_similarity(x1, x2, dim=-1, eps=1e-8)``: as ``torch.nn.functional.cosine_similarity``;
- ``KeyedVectors(words, vectors)``: words + matrix, ``nearest(word, k)``,
  ``analogy(a, b, c, k)`` (3CosAdd, a - b + c, inputs excluded), ``similarity``;
- skip-gram with negative sampling (word2vec): ``sgns_loss_and_grad`` for one batch
  (pure function), ``keep_probabilities`` (subsampling), ``noise_distribution``
  (unigram^0.75), ``skipgram_pairs`` (reduced window), ``train_sgns`` (the loop);
- the count-based baseline: ``cooccurrence``, ``ppmi``, ``ppmi_svd``;
- a picture: ``pca(X, k=2)``, the k-dimensional projection of a few words' vectors;
- evaluation: ``read_similarity_pairs`` / ``evaluate_similarity`` (Spearman on
  WordSim-353, SimLex-999), ``read_analogies`` / ``evaluate_analogies`` (accuracy per
  section of Google's ``questions-words.txt``, on the questions whose four words are
  all in the vocabulary, with that count reported).

Corpora are given as lists of 1-D integer arrays (one array of word ids per
sentence or document); pairs never cross from one to the next.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "one_hot", "lookup", "build_corpus", "evaluation_file", "cosine_similarity", "KeyedVectors",
    "sigmoid", "sgns_loss_and_grad", "sgns_step", "keep_probabilities", "noise_distribution", "skipgram_pairs",
    "SGNSResult", "train_sgns", "cooccurrence", "ppmi", "truncated_svd", "ppmi_svd",
    "read_similarity_pairs", "evaluate_similarity", "read_analogies", "evaluate_analogies", "pca",
]


# ============================================================== the matrix and the lookup
def one_hot(ids, num_classes: int, dtype=np.float64) -> np.ndarray:
    """ids: (*) integers in [0, num_classes) -> (*, num_classes) with a single 1 per row."""
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu" or (ids.size and (ids.min() < 0 or ids.max() >= num_classes)):
        raise ValueError(f"one_hot needs integer ids in [0, {num_classes}), got dtype {ids.dtype}"
                         + (f" with values in [{ids.min()}, {ids.max()}]" if ids.size else ""))
    return np.eye(num_classes, dtype=dtype)[ids]


def lookup(W, ids) -> np.ndarray:
    """W: (V, D), ids: (*) -> (*, D): row ``W[i]`` for each id, i.e. ``one_hot(ids, V) @ W``."""
    return np.asarray(W)[np.asarray(ids)]


def build_corpus(token_lists, min_count: int = 5, words_only: bool = True):
    """Sentences of tokens -> ``(words, counts, corpus)`` for training word vectors.

    ``words``: the tokens seen at least ``min_count`` times, most frequent first (ties
    alphabetical); ``counts`` (V,) their counts; ``corpus``: one int64 id array per
    sentence with the rarer tokens dropped (as word2vec's ``min_count`` does).
    ``words_only`` also drops tokens without a letter or digit (punctuation).
    """
    import collections

    keep_token = (lambda t: any(ch.isalnum() for ch in t)) if words_only else (lambda t: True)
    sents = [[t for t in toks if keep_token(t)] for toks in token_lists]
    freq = collections.Counter(t for s in sents for t in s)
    words = sorted((t for t, c in freq.items() if c >= min_count), key=lambda t: (-freq[t], t))
    index = {w: i for i, w in enumerate(words)}
    corpus = [np.array([index[t] for t in s if t in index], dtype=np.int64) for s in sents]
    return words, np.array([freq[w] for w in words], dtype=np.int64), [c for c in corpus if len(c)]


def evaluation_file(name: str):
    """The path of one of gensim's bundled evaluation files: ``"wordsim353.tsv"``,
    ``"simlex999.txt"`` or ``"questions-words.txt"`` (shipped in gensim's wheel; no download)."""
    from gensim.test.utils import datapath

    return datapath(name)


# ============================================================== cosine similarity
def cosine_similarity(x1, x2, dim: int = -1, eps: float = 1e-8) -> np.ndarray:
    """Cosine of the angle between x1 and x2 along ``dim``, as ``torch.nn.functional.cosine_similarity``.

    ``x1 . x2 / (max(||x1||, eps) * max(||x2||, eps))``: each norm is clamped at ``eps``
    separately (current torch), so a zero vector has similarity 0 with everything.
    x1 and x2 are broadcast together first; the result has their broadcast shape
    without ``dim``. Example: x1 (3, 1, D), x2 (5, D) -> (3, 5).
    """
    x1, x2 = np.asarray(x1), np.asarray(x2)
    x1 = x1.astype(np.result_type(x1.dtype, np.float32), copy=False)
    x2 = x2.astype(np.result_type(x2.dtype, np.float32), copy=False)
    try:
        x1, x2 = np.broadcast_arrays(x1, x2)
    except ValueError:
        raise ValueError(f"cosine_similarity: shapes {x1.shape} and {x2.shape} do not broadcast: "
                         "trailing axes must be equal or 1 (add an axis with x[:, None] to compare all pairs)") from None
    if x1.ndim == 0 or not -x1.ndim <= dim < x1.ndim:
        raise ValueError(f"cosine_similarity: dim={dim} is not an axis of the broadcast shape {x1.shape}")
    n1 = np.maximum(np.linalg.norm(x1, axis=dim, keepdims=True), eps)
    n2 = np.maximum(np.linalg.norm(x2, axis=dim, keepdims=True), eps)
    return np.sum((x1 / n1) * (x2 / n2), axis=dim)


def _unit_rows(W: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    return W / np.maximum(np.linalg.norm(W, axis=1, keepdims=True), eps)


# ============================================================== words + matrix
class KeyedVectors:
    """A vocabulary and its vectors: ``words`` (V strings, most frequent first by
    convention) and ``vectors: (V, D)``; ``kv["word"]`` is a row, ``"word" in kv`` tests
    membership, ``kv.index["word"]`` its id.

    ``nearest(query, k=10, metric="cosine")``: the k nearest words to a word (or a
    vector) as ``[(word, score), ...]``, the query word itself excluded; ``metric``
    "cosine" (score = cosine, highest first) or "euclidean" (score = distance, lowest first).
    ``analogy(a, b, c, k=1)``: 3CosAdd, the words nearest to ``a - b + c`` by cosine of
    the unit vectors, a, b and c excluded: ``analogy("king", "man", "woman")`` -> queen.
    Unknown words raise ``KeyError`` naming them.
    """

    def __init__(self, words, vectors):
        vectors = np.asarray(vectors)
        words = list(words)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise ValueError(f"KeyedVectors needs one row per word: {len(words)} words but vectors "
                             f"of shape {vectors.shape} (expected ({len(words)}, D))")
        self.words = words
        self.vectors = vectors
        self.index = {w: i for i, w in enumerate(words)}
        if len(self.index) != len(words):
            raise ValueError("KeyedVectors: the words must be distinct")
        self._unit = None

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word) -> bool:
        return word in self.index

    def __getitem__(self, word) -> np.ndarray:
        return self.vectors[self._id(word)]

    def __repr__(self) -> str:
        return f"KeyedVectors({len(self.words)} words, dim {self.vectors.shape[1]})"

    @property
    def unit(self) -> np.ndarray:
        """The vectors scaled to length 1 (cached): cosine = dot product of unit rows."""
        if self._unit is None:
            self._unit = _unit_rows(np.asarray(self.vectors, dtype=np.float64))
        return self._unit

    def _id(self, word) -> int:
        try:
            return self.index[word]
        except KeyError:
            raise KeyError(f"{word!r} is not in the vocabulary ({len(self.words)} words)") from None

    def similarity(self, w1, w2) -> float:
        return float(self.unit[self._id(w1)] @ self.unit[self._id(w2)])

    def _ranked(self, scores: np.ndarray, k: int, exclude, higher_first: bool = True):
        scores = np.array(scores, dtype=np.float64)
        bad = -np.inf if higher_first else np.inf
        scores[list(exclude)] = bad
        k = min(k, len(scores) - len(set(exclude)))
        order = np.argsort(-scores if higher_first else scores, kind="stable")[:k]
        return [(self.words[i], float(scores[i])) for i in order]

    def nearest(self, query, k: int = 10, metric: str = "cosine"):
        """query: a word or a vector (D,) -> the k nearest words [(word, score)], the query word excluded."""
        if isinstance(query, str):
            ids, vec = [self._id(query)], self.vectors[self._id(query)]
        else:
            ids, vec = [], np.asarray(query, dtype=np.float64)
        if metric == "cosine":
            scores = self.unit @ (vec / max(np.linalg.norm(vec), 1e-8))
            return self._ranked(scores, k, ids, higher_first=True)
        if metric == "euclidean":
            dist = np.linalg.norm(self.vectors - vec, axis=1)
            return self._ranked(dist, k, ids, higher_first=False)
        raise ValueError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")

    def analogy(self, a, b, c, k: int = 1):
        """3CosAdd: the k words d maximising cos(d, a - b + c) on unit vectors, d not in {a, b, c}.

        Reads "b is to a as c is to d": ``analogy("king", "man", "woman")`` -> queen;
        for a line ``w1 w2 w3 w4`` of questions-words.txt the answer is ``analogy(w2, w1, w3)``.
        """
        ia, ib, ic = self._id(a), self._id(b), self._id(c)
        target = self.unit[ia] - self.unit[ib] + self.unit[ic]
        scores = self.unit @ target / max(np.linalg.norm(target), 1e-8)
        return self._ranked(scores, k, {ia, ib, ic}, higher_first=True)


# ============================================================== skip-gram with negative sampling
def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow for large |x|."""
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _log_sigmoid(x):
    """log sigmoid(x) = -log(1 + exp(-x)), finite for every x (never log of 0)."""
    return -np.logaddexp(0.0, -np.asarray(x))


def sgns_loss_and_grad(center_vecs, context_vecs, negative_vecs):
    """The skip-gram negative-sampling loss of ONE batch of B (center, context) pairs and its gradient.

    center_vecs v: (B, D)  input vectors of the centre words (rows of W_in);
    context_vecs u: (B, D) output vectors of the true context words (rows of W_out);
    negative_vecs n: (B, K, D) output vectors of K noise words per pair.

    loss = mean over the batch of  -log sigmoid(u_b . v_b) - sum_k log sigmoid(-n_bk . v_b)
    (the positive pair pulled together, the K noise words pushed away). Returns
    ``(loss, grad_center (B, D), grad_context (B, D), grad_negative (B, K, D))``, the
    gradients of that mean. With s = sigmoid(u.v), t_k = sigmoid(n_k.v):
    d/dv = (s - 1) u + sum_k t_k n_k;  d/du = (s - 1) v;  d/dn_k = t_k v  (each / B).
    """
    v, u, n = np.asarray(center_vecs), np.asarray(context_vecs), np.asarray(negative_vecs)
    if v.ndim != 2 or u.shape != v.shape or n.ndim != 3 or n.shape[0] != v.shape[0] or n.shape[2] != v.shape[1]:
        raise ValueError(f"sgns_loss_and_grad expects center (B, D), context (B, D), negatives (B, K, D); "
                         f"got {v.shape}, {u.shape}, {n.shape}")
    B = v.shape[0]
    pos = np.sum(u * v, axis=1)                              # (B,)   u_b . v_b
    neg = np.einsum("bkd,bd->bk", n, v)                      # (B, K) n_bk . v_b
    loss = -(np.sum(_log_sigmoid(pos)) + np.sum(_log_sigmoid(-neg))) / B
    gp = (sigmoid(pos) - 1.0) / B                            # (B,)   d loss / d pos
    gn = sigmoid(neg) / B                                    # (B, K) d loss / d neg
    grad_center = gp[:, None] * u + np.einsum("bk,bkd->bd", gn, n)
    grad_context = gp[:, None] * v
    grad_negative = gn[:, :, None] * v[:, None, :]
    return float(loss), grad_center, grad_context, grad_negative


def keep_probabilities(counts, sample: float = 1e-3) -> np.ndarray:
    """word2vec's subsampling of frequent words: the probability to keep each occurrence of word w.

    counts: (V,). With f = count / total and t = ``sample``:
    ``p_keep = (sqrt(f / t) + 1) * t / f``, capped at 1 (the formula of word2vec's C code and
    gensim). Words rarer than about t are always kept; "the" is kept a few % of the time.
    ``sample=0`` keeps everything.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones_like(counts)
    f = counts / counts.sum()
    with np.errstate(divide="ignore"):
        p = (np.sqrt(f / sample) + 1.0) * sample / f
    return np.minimum(np.nan_to_num(p, nan=1.0, posinf=1.0), 1.0)


def noise_distribution(counts, power: float = 0.75) -> np.ndarray:
    """The distribution negatives are drawn from: count^0.75, normalised (V,)."""
    w = np.asarray(counts, dtype=np.float64) ** power
    return w / w.sum()


def _flatten(corpus):
    """list of 1-D id arrays -> (ids (N,), sentence number of each id (N,))."""
    arrays = [np.asarray(s, dtype=np.int64).reshape(-1) for s in corpus]
    lengths = np.array([len(a) for a in arrays], dtype=np.intp)  # np.repeat takes the index type
    ids = np.concatenate(arrays) if arrays else np.zeros(0, np.int64)
    return ids, np.repeat(np.arange(len(arrays)), lengths)


def skipgram_pairs(corpus, window: int = 5, keep=None, rng=None, reduced_window: bool = True):
    """All (center, context) id pairs of a corpus for one epoch, as two (P,) arrays.

    corpus: list of 1-D id arrays. ``keep``: (V,) keep probabilities (subsampling, applied
    first, so the window spans the kept words as in word2vec) or None. With
    ``reduced_window`` each centre draws its own window b uniform in {1, ..., window}
    (word2vec's "dynamic window": near words count more often); the pairs are the
    context words at distance 1..b on both sides, within the same sentence.
    """
    rng = np.random.default_rng(rng)
    ids, sent = _flatten(corpus)
    if keep is not None:
        mask = rng.random(len(ids)) < np.asarray(keep)[ids]
        ids, sent = ids[mask], sent[mask]
    n = len(ids)
    b = rng.integers(1, window + 1, size=n) if reduced_window else np.full(n, window)
    centers, contexts = [], []
    for o in range(1, window + 1):          # a loop over offsets, not tokens
        same = sent[:-o] == sent[o:]        # positions i, i + o in one sentence
        right = same & (b[:-o] >= o)        # centre i, context i + o
        left = same & (b[o:] >= o)          # centre i + o, context i
        centers += [ids[:-o][right], ids[o:][left]]
        contexts += [ids[o:][right], ids[:-o][left]]
    return np.concatenate(centers), np.concatenate(contexts)


@dataclass
class SGNSResult:
    """What ``train_sgns`` returns: ``W_in`` (V, D) the word vectors, ``W_out`` (V, D) the context
    vectors, ``losses`` the mean loss of each batch, ``pairs_per_epoch``, ``seconds``."""
    W_in: np.ndarray
    W_out: np.ndarray
    losses: list = field(default_factory=list)
    pairs_per_epoch: list = field(default_factory=list)
    seconds: float = 0.0


def _sum_rows(ids, cols, coef, X):
    """For each distinct id: the sum over its occurrences j of ``coef[j] * X[cols[j]]``.

    Returns (unique ids (U,), sums (U, D)). A sparse (U, B) matrix with ``coef[j]`` at
    (row of ids[j], cols[j]) times X (B, D): repeated ids are added, never overwritten
    (the same result as ``np.add.at``, several times faster)."""
    import scipy.sparse as sp

    # np.unique(ids, return_inverse=True) without its sort: ids are small integers, so a count marks
    # the ids present and a running sum numbers them
    present = np.bincount(np.asarray(ids).astype(np.intp, copy=False)) > 0
    uniq = np.flatnonzero(present)
    inv = (np.cumsum(present) - 1)[ids]
    M = sp.csr_matrix((coef, (inv, cols)), shape=(len(uniq), X.shape[0]))
    return uniq, M @ X


def sgns_step(W_in, W_out, centers, contexts, negatives, lr: float) -> float:
    """One SGD step of skip-gram with negative sampling on a batch, in place; returns the batch's mean loss.

    centers, contexts: (B,) ids; negatives: (B, K) ids. Each pair moves by ``lr`` times the
    gradient of its own loss (``sgns_loss_and_grad``'s mean times B), rows of repeated ids
    summed. The same gradients as ``sgns_loss_and_grad``, arranged so that no (B, K, D)
    gradient array is built: the W_out update is a sparse matrix of the coefficients
    (s - 1 for the context, t_k for the negatives) times the centre vectors v.
    """
    # np.take casts its indices to the index type "safely": int64 ids fail where that is int32 (the browser)
    centers, contexts, negatives = (np.asarray(a).astype(np.intp, copy=False) for a in (centers, contexts, negatives))
    B, K = negatives.shape
    v, u = np.take(W_in, centers, axis=0), np.take(W_out, contexts, axis=0)   # (B, D), (B, D)
    n = np.take(W_out, negatives, axis=0)                                     # (B, K, D)
    pos = np.einsum("bd,bd->b", u, v)
    neg = (n @ v[:, :, None])[..., 0]                             # (B, K): each negative . its centre
    loss = -(np.sum(_log_sigmoid(pos)) + np.sum(_log_sigmoid(-neg))) / B
    gp = sigmoid(pos) - 1.0                                       # (B,)   d loss_b / d pos_b
    gn = sigmoid(neg)                                             # (B, K) d loss_b / d neg_bk
    grad_v = gp[:, None] * u + (gn[:, None, :] @ n)[:, 0]         # (B, D)
    rows = np.arange(B)
    ids, S = _sum_rows(np.concatenate([contexts, negatives.reshape(-1)]),
                       np.concatenate([rows, np.repeat(rows, K)]),
                       np.concatenate([gp, gn.reshape(-1)]).astype(W_out.dtype), v)
    W_out[ids] -= lr * S
    ids, S = _sum_rows(centers, rows, np.ones(B, dtype=W_in.dtype), grad_v)
    W_in[ids] -= lr * S
    return float(loss)


def _noise_table(counts, size: int = 1_000_000) -> np.ndarray:
    """word2vec's table: ``size`` word ids, word w filling a share count_w^0.75 / sum of it;
    a uniform integer index into it draws a negative (cheaper than searchsorted per draw)."""
    cdf = np.cumsum(noise_distribution(counts))
    return np.searchsorted(cdf / cdf[-1], (np.arange(size) + 0.5) / size).astype(np.int64)


def train_sgns(corpus, vocab_size: int, counts=None, dim: int = 100, window: int = 5, negative: int = 5,
               epochs: int = 5, lr: float = 0.025, min_lr: float = 1e-4, sample: float = 1e-3,
               batch_size: int = 4096, seed: int = 0, progress: bool = True, dtype=np.float32) -> SGNSResult:
    """Skip-gram with negative sampling, trained so that words in similar contexts get a high cosine.

    corpus: list of 1-D arrays of ids in [0, vocab_size); counts: (V,) word counts (computed
    from the corpus if None). As word2vec: W_in uniform in [-0.5/D, 0.5/D], W_out zero;
    frequent words subsampled (``keep_probabilities(counts, sample)``) afresh each epoch;
    a reduced window; K = ``negative`` noise words per pair drawn from count^0.75; plain
    SGD whose learning rate falls linearly from ``lr`` to ``min_lr`` over all pairs.
    Vectorized over a batch of ``batch_size`` pairs (shuffled within each epoch), one
    ``sgns_step`` per batch. ``progress``: a tqdm bar with the running loss.
    """
    import time

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    if counts is None:
        counts = np.bincount(_flatten(corpus)[0].astype(np.intp, copy=False), minlength=vocab_size)
    counts = np.asarray(counts)
    if counts.shape != (vocab_size,):
        raise ValueError(f"counts must have shape (vocab_size,) = ({vocab_size},), got {counts.shape}")
    keep = keep_probabilities(counts, sample)
    table = _noise_table(counts)
    W_in = ((rng.random((vocab_size, dim)) - 0.5) / dim).astype(dtype)
    W_out = np.zeros((vocab_size, dim), dtype=dtype)
    result = SGNSResult(W_in, W_out)
    # the number of pairs per epoch varies with the random windows; estimate it for the schedule
    expected = _expected_pairs(corpus, keep, window)
    total, done = max(expected * epochs, 1), 0
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=int(total), unit="pair", unit_scale=True, desc="skip-gram")
    for epoch in range(epochs):
        centers, contexts = skipgram_pairs(corpus, window, keep, rng)
        order = rng.permutation(len(centers))
        centers, contexts = centers[order], contexts[order]
        result.pairs_per_epoch.append(len(centers))
        for start in range(0, len(centers), batch_size):
            c, o = centers[start:start + batch_size], contexts[start:start + batch_size]
            B = len(c)
            neg = table[rng.integers(0, len(table), size=(B, negative))]
            step = max(lr - (lr - min_lr) * done / total, min_lr)   # linear decay
            result.losses.append(sgns_step(W_in, W_out, c, o, neg, step))
            done += B
            if bar is not None:
                bar.update(B)
                if len(result.losses) % 20 == 0:
                    bar.set_postfix(epoch=epoch + 1, loss=f"{np.mean(result.losses[-20:]):.3f}", lr=f"{step:.4f}")
    if bar is not None:
        bar.close()
    result.seconds = time.perf_counter() - t0
    return result


def _expected_pairs(corpus, keep, window) -> float:
    """Expected pair count of one epoch: per sentence of n kept words, about n * (window + 1) minus edges."""
    ids, sent = _flatten(corpus)
    n = np.bincount(sent.astype(np.intp, copy=False), weights=keep[ids]) if len(ids) else np.zeros(0)
    mean_b = (window + 1) / 2
    return float(np.sum(np.maximum(2 * n * mean_b - mean_b * (mean_b + 1), 0)))


# ============================================================== count-based: PPMI + SVD
def cooccurrence(corpus, vocab_size: int, window: int = 5):
    """Symmetric word-context counts within ``window`` words, as a scipy.sparse CSR matrix (V, V).

    ``C[w, c]`` = how often c occurs at distance 1..window of w in the same sentence
    (every distance counts 1). Counted without a loop over tokens: for each offset, the
    pairs ``(ids[i], ids[i + o])`` are scattered into a sparse matrix (duplicates summed).
    """
    import scipy.sparse as sp

    ids, sent = _flatten(corpus)
    rows, cols = [], []
    for o in range(1, window + 1):
        same = sent[:-o] == sent[o:]
        rows.append(ids[:-o][same])
        cols.append(ids[o:][same])
    r, c = np.concatenate(rows), np.concatenate(cols)
    C = sp.coo_matrix((np.ones(len(r)), (r, c)), shape=(vocab_size, vocab_size)).tocsr()
    return (C + C.T).tocsr()


def ppmi(C, alpha: float = 0.75):
    """Positive pointwise mutual information of a count matrix C (V, V), sparse in and out.

    ``PMI(w, c) = log( P(w, c) / (P(w) P_alpha(c)) )`` with P(w, c) = C[w, c] / sum(C),
    P(w) the row sums / sum(C) and P_alpha(c) proportional to (column sum)^alpha (context
    smoothing of Levy et al. 2015; alpha=1 is plain PMI). PPMI = max(PMI, 0); zero counts
    stay 0 (PMI would be log 0 = -inf, clipped to 0).
    """
    import scipy.sparse as sp

    C = sp.csr_matrix(C, dtype=np.float64)
    total = C.sum()
    pw = np.asarray(C.sum(axis=1)).ravel() / total
    cc = np.asarray(C.sum(axis=0)).ravel() ** alpha
    pc = cc / cc.sum()
    C = C.tocoo()
    with np.errstate(divide="ignore"):
        pmi = np.log(C.data / total) - np.log(pw[C.row]) - np.log(pc[C.col])
    keep = pmi > 0
    return sp.csr_matrix((pmi[keep], (C.row[keep], C.col[keep])), shape=C.shape)


def truncated_svd(M, k: int, n_iter: int = 5, oversample: int = 10, seed: int = 0):
    """The k largest singular triplets of a (sparse or dense) matrix M (m, n): ``(U (m, k), S (k,), Vt (k, n))``.

    Randomized (Halko, Martinsson and Tropp 2011): multiply M by k + oversample random vectors,
    sharpen with ``n_iter`` power iterations (M M^T applied again; the columns re-normalised by an
    LU factorisation, cheaper than QR, as scikit-learn does), orthonormalise once by QR, then an exact
    SVD of the small projected matrix. Only products of M with thin dense matrices: fast for a large
    sparse M.
    """
    import scipy.linalg

    rng = np.random.default_rng(seed)
    Y = M @ rng.standard_normal((M.shape[1], k + oversample))
    for _ in range(n_iter):
        Y = scipy.linalg.lu(Y, permute_l=True)[0]
        Y = M @ scipy.linalg.lu(M.T @ Y, permute_l=True)[0]
    Q = np.linalg.qr(Y)[0]
    Ub, S, Vt = np.linalg.svd(np.asarray((M.T @ Q).T), full_matrices=False)
    return (Q @ Ub)[:, :k], S[:k], Vt[:k]


def ppmi_svd(corpus, vocab_size: int, dim: int = 100, window: int = 5, alpha: float = 0.75,
             power: float = 0.5, seed: int = 0) -> np.ndarray:
    """Count-based word vectors: the truncated SVD of the PPMI matrix, ``U_d * S_d^power`` (V, dim).

    power 0.5 splits the singular values between words and contexts (Levy et al.); power 1
    would be the plain rank-d factor. The SVD is ``truncated_svd`` (randomized) on the sparse matrix.
    """
    M = ppmi(cooccurrence(corpus, vocab_size, window), alpha)
    U, S, _ = truncated_svd(M, dim, seed=seed)
    return U * S ** power


# ============================================================== a picture: PCA
def pca(X, k: int = 2):
    """Principal component analysis of the rows of X (N, D) -> ``(Z (N, k), components (k, D), mean (D,))``.

    Centre the rows (``mean``), take the SVD ``X - mean = U S Vt``; the components are the
    first k rows of Vt (unit directions of largest variance, largest first) and
    ``Z = (X - mean) @ components.T`` the coordinates in them, as scikit-learn's ``PCA``.
    The sign of each component is fixed so that its largest-magnitude coordinate is
    positive (an SVD may return either sign), so the picture does not flip between calls.
    Needs N >= 1 and k <= min(N, D); with fewer distinct rows the extra columns of Z are 0.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or not 1 <= k <= min(X.shape):
        raise ValueError(f"pca: X must be (N, D) with k <= min(N, D); got X of shape {X.shape} "
                         f"and k={k} (plot at least k words, or lower k)")
    mean = X.mean(axis=0)
    _, _, Vt = np.linalg.svd(X - mean, full_matrices=False)
    comps = Vt[:k]
    big = np.argmax(np.abs(comps), axis=1)
    comps = comps * np.sign(comps[np.arange(k), big])[:, None]
    return (X - mean) @ comps.T, comps, mean


# ============================================================== evaluation
def read_similarity_pairs(path):
    """WordSim-353 / SimLex-999 as in gensim's test_data: ``[(word1, word2, score)]``, lower-cased.
    Lines starting with '#' are comments; fields are tab-separated."""
    pairs = []
    with open(path, encoding="utf8") as fh:
        for line in fh:
            if not line.strip() or line.startswith("#"):
                continue
            a, b, s = line.rstrip("\n").split("\t")[:3]
            pairs.append((a.lower(), b.lower(), float(s)))
    return pairs


def evaluate_similarity(kv: KeyedVectors, pairs) -> dict:
    """Spearman correlation between human scores and cosine similarities, on the pairs whose two
    words are in ``kv``. Returns {spearman, pairs, in_vocab, oov_fraction}."""
    from scipy.stats import spearmanr

    found = [(a, b, s) for a, b, s in pairs if a in kv and b in kv]
    if len(found) < 2:
        return {"spearman": float("nan"), "pairs": len(pairs), "in_vocab": len(found),
                "oov_fraction": 1 - len(found) / max(len(pairs), 1)}
    ia = np.array([kv.index[a] for a, _, _ in found])
    ib = np.array([kv.index[b] for _, b, _ in found])
    cos = np.sum(kv.unit[ia] * kv.unit[ib], axis=1)
    rho = spearmanr([s for _, _, s in found], cos).statistic
    return {"spearman": float(rho), "pairs": len(pairs), "in_vocab": len(found),
            "oov_fraction": 1 - len(found) / len(pairs)}


def read_analogies(path) -> dict:
    """Google's questions-words.txt: ``{section: [(w1, w2, w3, w4), ...]}`` lower-cased, in file order
    (a section starts with a line ``: name``). The question: w1 is to w2 as w3 is to w4."""
    sections: dict = {}
    current = None
    with open(path, encoding="utf8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            if line.startswith(":"):
                current = line[1:].strip()
                sections[current] = []
            else:
                if current is None:
                    raise ValueError(f"{path}: a question before the first ': section' line")
                sections[current].append(tuple(line.lower().split()))
    return sections


def evaluate_analogies(kv: KeyedVectors, sections: dict, restrict_vocab: int | None = None,
                       chunk: int = 512) -> dict:
    """Accuracy of 3CosAdd (``kv.analogy(w2, w1, w3)`` == w4) per section and overall.

    Only the questions whose four words are all among the first ``restrict_vocab`` words
    of ``kv`` (all words if None) are asked, and the answer is searched among those words
    too (gensim's rule). Returns {section: {correct, asked, total, accuracy}} plus an
    ``"overall"`` entry and ``"vocab"`` (the size of the restricted vocabulary).
    """
    V = len(kv) if restrict_vocab is None else min(restrict_vocab, len(kv))
    unit = kv.unit[:V]
    index = {w: i for w, i in kv.index.items() if i < V}
    out, tot = {}, {"correct": 0, "asked": 0, "total": 0}
    for name, questions in sections.items():
        q = np.array([[index[w] for w in qu] for qu in questions if len(qu) == 4 and all(w in index for w in qu)],
                     dtype=np.int64).reshape(-1, 4)
        correct = 0
        for s in range(0, len(q), chunk):
            block = q[s:s + chunk]
            target = unit[block[:, 1]] - unit[block[:, 0]] + unit[block[:, 2]]
            scores = target @ unit.T                              # (n, V); the query norm does not change argmax
            rows = np.arange(len(block))[:, None]
            scores[rows, block[:, :3]] = -np.inf                  # the three inputs excluded
            correct += int(np.sum(scores.argmax(axis=1) == block[:, 3]))
        entry = {"correct": correct, "asked": len(q), "total": len(questions),
                 "accuracy": correct / len(q) if len(q) else float("nan")}
        out[name] = entry
        for key in tot:
            tot[key] += entry[key]
    tot["accuracy"] = tot["correct"] / tot["asked"] if tot["asked"] else float("nan")
    out["overall"] = tot
    out["vocab"] = V
    return out
