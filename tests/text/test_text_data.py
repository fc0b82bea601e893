"""course.data.text: the cleaned Wikipedia sample, its fixed splits by document, and the cache."""
import collections
import json
import subprocess
import sys
import time

import pytest

from course.data import text
from course.tokenize import CHAR_ALPHABET, words


def test_splits_are_disjoint_by_document_and_sized_80_10_10():
    names = {s: text.titles(s) for s in text.SPLITS}
    assert not (set(names["train"]) & set(names["valid"])) and not (set(names["train"]) & set(names["test"]))
    assert not (set(names["valid"]) & set(names["test"]))
    stats = text.stats()
    total = sum(stats[s]["words"] for s in text.SPLITS)
    assert total > 350_000                                   # measured: ~390k words of running text
    assert 0.75 < stats["train"]["words"] / total < 0.85
    assert 0.05 < stats["valid"]["words"] / total < 0.15 and stats["test"]["words"] > 20_000
    assert len(text.corpus("train")) == len(names["train"]) == stats["train"]["documents"]
    assert "Anarchism" in sum(names.values(), [])


def test_text_is_natural_running_text_without_wiki_scraps():
    docs = text.corpus("train") + text.corpus("valid") + text.corpus("test")
    joined = "\n".join(docs)
    for scrap in ("|", "''", "[[", "]]", "{{", "==", "File:", "20px", "\n* "):
        assert scrap not in joined, scrap
    lines = joined.split("\n")
    assert all(len(l.split()) >= 5 and l[-1] in ".!?\"')]" for l in lines)
    assert "References" not in lines and "External links" not in lines
    toks = words(" ".join(docs[:20]))
    assert {"the", "of", "and", "a"} <= set(toks)            # stop words kept


def test_sentence_rule():
    assert text.split_sentences('He left. She said "no." Then Dr. Smith met J. R. R. Tolkien in 1950. Done!') == [
        "He left.", 'She said "no."', "Then Dr. Smith met J. R. R. Tolkien in 1950.", "Done!"]
    assert text.split_sentences("Values e.g. Pi are 3.14 here. (Brackets) too.") == [
        "Values e.g. Pi are 3.14 here.", "(Brackets) too."]
    sents = text.sentences("valid")
    assert len(sents) > 1000 and all(s == s.strip() and s for s in sents)


def test_cleaning_rule_on_a_hand_made_page():
    page = ("'''Foo''' is a ''bar'' ( ) of the baz , here.\n==History==\nFile:x.jpg|caption here is long.\n"
            "* a list item that is long enough.\nReferences\nShort line.\nThis line has no final stop")
    assert text.clean_wiki(page) == ["Foo is a bar of the baz, here."]


def test_characters_lie_in_the_closed_alphabet():
    chars = text.characters("test")
    assert len(chars) > 150_000 and set(chars) <= set(CHAR_ALPHABET)
    assert chars == chars.lower()


def test_toy_corpus_is_hand_checkable():
    assert text.toy_corpus() == ["the cat sat", "the cat ran", "the dog sat"]


def test_cache_is_written_outside_the_package_and_reloads_fast(tmp_path):
    code = ("import time, sys; t = time.perf_counter(); from course.data import text; "
            "n = len(text.sentences('train')); print(n, time.perf_counter() - t, 'gensim' in sys.modules)")
    env = {"COURSE_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    import os
    env.update({k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME")})
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    files = list(tmp_path.glob("wiki-*-v*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text(encoding="utf-8"))
    assert set(data) == set(text.SPLITS)
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    n1, n2 = first.stdout.split()[0], second.stdout.split()[0]
    assert n1 == n2
    assert second.stdout.split()[2] == "False"                # a cached load never imports gensim


def test_a_read_only_shared_cache_is_read_first_and_never_written(tmp_path):
    """The sandbox's case: an empty writable cache, the grader's cache shown in $COURSE_CACHE_SHARED."""
    import os
    shared = {p.parent for p in text.warm_cache()}
    assert len(shared) == 1
    code = ("import sys; from course.data import text; print(len(text.characters('train')), "
            "len(text.sentences('valid')), 'gensim' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME", "PATH")}
    env.update(COURSE_CACHE=str(tmp_path), COURSE_CACHE_SHARED=str(shared.pop()))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    n_chars, n_valid, imported = out.stdout.split()
    assert (int(n_chars), int(n_valid)) == (len(text.characters("train")), len(text.sentences("valid")))
    assert imported == "False"                                # read from the shared cache, not rebuilt
    assert list(tmp_path.iterdir()) == []


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="train"):
        text.corpus("dev")


def test_shared_vocabularies():
    from course.tokenize import BOS, EOS, PAD, UNK, Vocab

    vocab = text.word_vocab()
    assert vocab.itos[:4] == [PAD, UNK, BOS, EOS] and vocab[PAD] == 0
    counts = collections.Counter(t for s in text.word_sentences("train") for t in s)
    assert len(vocab) == 4 + sum(c >= 2 for c in counts.values())
    test = text.word_sentences("test", vocab)
    raw = text.word_sentences("test")
    assert [len(s) for s in test] == [len(s) for s in raw]
    assert all(t == UNK or t == r for s, q in zip(test, raw) for t, r in zip(s, q))
    assert all((t in vocab) for s in test for t in s)
    unk_rate = sum(s.count(UNK) for s in test) / sum(map(len, test))
    assert 0.05 < unk_rate < 0.2
    chars = text.char_vocab()
    assert len(chars) == len(CHAR_ALPHABET) and chars.decode(chars.encode(list("abc"))) == list("abc")
    assert isinstance(chars, Vocab) and chars.encode(list(text.characters("valid")[:500])).max() < len(chars)
