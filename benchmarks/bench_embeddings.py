"""Unit 3 benchmark: word vectors on the course's Wikipedia text, our NumPy skip-gram vs gensim.

The same corpus on both sides: ``course.data.text.sentences("train")`` tokenized with
``course.tokenize.words``, punctuation dropped, words seen >= 5 times (``build_corpus``).
The same hyper-parameters: skip-gram with negative sampling, 100 dimensions, window 5,
5 negatives, 5 epochs, sample 1e-3, learning rate 0.025 falling linearly to 1e-4.
gensim: ``Word2Vec(sg=1, workers=2)`` on the same vocabulary (min_count=1 on our
filtered sentences). Ours: ``course.embeddings.train_sgns`` (batches of 4,096 pairs,
one NumPy thread). And the count-based baseline ``ppmi_svd`` (100 dimensions, window 5).

Quality, side by side: Spearman on WordSim-353 and SimLex-999 (pairs with both words in
the vocabulary), 3CosAdd analogy accuracy on the questions of questions-words.txt whose
four words are in the vocabulary (the count is reported). Targets (issue 9): our
skip-gram within 0.03 Spearman of gensim's on both sets, wall time <= 5x gensim's.
Each side is trained once (a training run is tens of seconds; the machine is shared,
so the times are noisy). Run alone: ``python benchmarks/bench_embeddings.py``.
"""
from __future__ import annotations

import time

import numpy as np

from course import embeddings as E

DIM, WINDOW, NEGATIVE, EPOCHS, SAMPLE, MIN_COUNT, LR, MIN_LR, SEED = 100, 5, 5, 5, 1e-3, 5, 0.025, 1e-4, 0


def corpus():
    from course import tokenize
    from course.data import text

    return E.build_corpus((tokenize.words(s) for s in text.sentences("train")), min_count=MIN_COUNT)


def quality(words, W) -> dict:
    kv = E.KeyedVectors(words, W)
    ws = E.evaluate_similarity(kv, E.read_similarity_pairs(E.evaluation_file("wordsim353.tsv")))
    sl = E.evaluate_similarity(kv, E.read_similarity_pairs(E.evaluation_file("simlex999.txt")))
    an = E.evaluate_analogies(kv, E.read_analogies(E.evaluation_file("questions-words.txt")))["overall"]
    return {"ws353": round(ws["spearman"], 4), "ws353_pairs": ws["in_vocab"],
            "simlex": round(sl["spearman"], 4), "simlex_pairs": sl["in_vocab"],
            "analogy_acc": round(an["accuracy"], 4), "analogy_asked": an["asked"], "analogy_total": an["total"]}


def train_gensim(words, corpus_ids, workers: int = 2):
    from gensim.models import Word2Vec

    sentences = [[words[i] for i in s] for s in corpus_ids]
    t0 = time.perf_counter()
    model = Word2Vec(sentences, vector_size=DIM, window=WINDOW, negative=NEGATIVE, sg=1, hs=0, epochs=EPOCHS,
                     sample=SAMPLE, alpha=LR, min_alpha=MIN_LR, min_count=1, workers=workers, seed=SEED)
    seconds = time.perf_counter() - t0
    return model.wv[words], seconds


def cases() -> list[dict]:
    from _timing import threads

    words, counts, ids = corpus()
    shape = f"V={len(words)} tokens={sum(map(len, ids))} D={DIM} window={WINDOW} K={NEGATIVE} epochs={EPOCHS}"
    W_gensim, gensim_s = train_gensim(words, ids)
    res = E.train_sgns(ids, len(words), counts, dim=DIM, window=WINDOW, negative=NEGATIVE, epochs=EPOCHS,
                       lr=LR, min_lr=MIN_LR, sample=SAMPLE, seed=SEED, progress=False)
    t0 = time.perf_counter()
    W_ppmi = E.ppmi_svd(ids, len(words), dim=DIM, window=WINDOW)
    ppmi_s = time.perf_counter() - t0
    q_gensim, q_ours, q_ppmi = quality(words, W_gensim), quality(words, res.W_in), quality(words, W_ppmi)
    common = {"shape": shape, "threads": {**threads(), "gensim_workers": 2}, "repeats": 1,
              "gensim": q_gensim, "note": "one run each on a shared 2-core machine: times are noisy"}
    sgns = {"name": "skip-gram NumPy vs gensim Word2Vec(sg=1, workers=2)", "numpy_s": res.seconds,
            "torch_s": gensim_s, "ratio": res.seconds / gensim_s, "target": 5.0, "ours": q_ours,
            "pairs": int(sum(res.pairs_per_epoch)),
            "ws353_gap": round(q_ours["ws353"] - q_gensim["ws353"], 4),
            "simlex_gap": round(q_ours["simlex"] - q_gensim["simlex"], 4), **common}
    sgns["quality_ok"] = abs(sgns["ws353_gap"]) <= 0.03 and abs(sgns["simlex_gap"]) <= 0.03 or (
        sgns["ws353_gap"] >= 0 and sgns["simlex_gap"] >= 0)
    ppmi = {"name": "PPMI+SVD NumPy vs gensim Word2Vec(sg=1, workers=2)", "numpy_s": ppmi_s, "torch_s": gensim_s,
            "ratio": ppmi_s / gensim_s, "target": None, "ours": q_ppmi, **common}
    return [sgns, ppmi]


if __name__ == "__main__":
    import json
    import sys
    import pathlib

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    for r in cases():
        print(json.dumps(r, indent=1))
