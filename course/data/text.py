"""The course's English text: a cleaned Wikipedia sample that ships in gensim's wheel (no download).

Every language model of Units 3-5 (n-grams, RNNs, Transformers) trains on
``corpus("train")``, picks settings on ``"valid"`` and reports on ``"test"``,
so their perplexities are comparable across the whole course.

Source. ``gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2``
(the first pages of the English Wikipedia, 206 pages), read with
``gensim.corpora.wikicorpus.extract_pages`` and cleaned of markup with
``gensim.corpora.wikicorpus.filter_wiki``. Natural running text: not stemmed,
stop words and case kept (the tokenizers of ``course.tokenize`` lower-case).

Cleaning rule (what filter_wiki leaves behind is removed line by line):

1. redirect pages and pages with fewer than 50 words of text are dropped;
2. bold/italic quote marks (``'''``, ``''``) are removed;
3. a line is kept only if it is a paragraph of running text: it does not start
   with ``=`` (section title), ``*``, ``#``, ``:``, ``;`` (lists), ``File:`` or
   ``Image:``, contains no ``|`` (image captions, table cells), has at least 5
   words, and ends with ``.``, ``!`` or ``?`` (possibly followed by a closing
   quote or bracket). This drops captions, table cells such as ``20px``, lists,
   titles such as "References" and lines cut in the middle of a sentence;
4. white-space runs become one space, empty brackets left by removed templates
   (``( )``, ``(, )``) are deleted, and a space before ``, . ; : ! ? )`` goes.

A document is the title and its kept paragraphs joined by ``"\\n"``.

Sentence rule (``sentences``): a paragraph is split after ``.``, ``!`` or ``?``
(and any closing quotes/brackets) followed by white space and an upper-case
letter, a digit, a quote or an opening bracket -- except after a one-letter
initial (``"J. R. R. Tolkien"``) or one of ``ABBREVIATIONS`` (``"Dr."``, ``"e.g."``).

Splits (by document, fixed): the documents are put in the order of a
permutation drawn with ``np.random.default_rng(0)`` from their alphabetical
order of titles; the first ones up to 80 % of the words are ``"train"``, up to
90 % ``"valid"``, the rest ``"test"``.

Characters (``characters``): a split's documents joined by ``"\\n"`` and passed
through ``course.tokenize.normalize_chars`` (NFKD, ASCII, lower-case, closed
alphabet ``CHAR_ALPHABET`` with ``UNK_CHAR``).

Cache: the cleaned documents and sentences are written once as JSON (and
each split's normalised characters as text, on first use) under
``$COURSE_CACHE``, else ``$XDG_CACHE_HOME/course``, else ``~/.cache/course``
(a temporary directory if none is writable; never the package directory),
named by the SHA-256 of the source file, ``CLEANING_VERSION`` and the cache format. A second
load reads that file (tens of milliseconds); within a process the result is
also kept in memory. A read-only folder named by ``$COURSE_CACHE_SHARED`` is looked in
first: the grader builds the cache once (``warm_cache()``) and shows its files to every
sandboxed student kernel there, which could not keep a cache of its own. Without that
variable the package's own ``course/data/cache/`` is looked in: the browser build
(``make lite``) puts a copy there, since gensim, and so the source file, does not
exist in the browser.

The shared vocabularies (the same for every model of Units 3-5, so that
their perplexities count the same predictions):

- ``word_vocab(min_freq=2)``: ``<pad> <unk> <s> </s>`` (ids 0-3), then the
  training words seen at least twice, most frequent first (about 14.7k in all);
  ``word_sentences(split, vocab)`` gives each sentence as word tokens with the
  words outside ``vocab`` replaced by ``<unk>``. Score a word model on every
  word of ``word_sentences("test", vocab)`` plus one ``</s>`` per sentence
  (what ``course.ngram.NGramLM.perplexity`` counts).
- ``char_vocab()``: the 56 characters of ``CHAR_ALPHABET`` in that order (id =
  position; the alphabet is closed, so no ``<unk>`` is needed).

``toy_corpus()`` is a tiny hand-checkable corpus for tests and lectures.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import pathlib
import re
import tempfile

import numpy as np

from course.tokenize import BOS, CHAR_ALPHABET, EOS, PAD, UNK, Vocab, normalize_chars, words

__all__ = ["SPLITS", "CLEANING_VERSION", "ABBREVIATIONS", "corpus", "titles", "sentences", "characters",
           "word_sentences", "word_vocab", "char_vocab", "clean_wiki", "split_sentences", "cache_dir", "cache_file", "writable_cache_file", "warm_cache", "source_path", "toy_corpus", "stats"]

SPLITS = ("train", "valid", "test")
CLEANING_VERSION = 1
_CACHE_FORMAT = 2          # layout of the cache file (part of its name too)
WIKI_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
MIN_WORDS = 50
FRACTIONS = (0.8, 0.9)
ABBREVIATIONS = ("mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "e.g", "i.e", "etc", "cf", "c",
                 "ca", "no", "vol", "pp", "fig", "gen", "gov", "sen", "rep", "rev", "lt", "col", "capt",
                 "u.s", "u.k", "mt", "ft", "approx")

_DROP_START = ("=", "*", "#", ":", ";", "File:", "Image:", "{", "!")
_ENDS_SENTENCE = re.compile(r"[.!?][\"')\]]*$")
_EMPTY_BRACKETS = re.compile(r"\(\s*[,;:]*\s*\)|\[\s*\]")
_SPACE_BEFORE = re.compile(r"\s+([,.;:!?)])")
_BOUNDARY = re.compile(r"(?<=[.!?])([\"')\]]*)\s+(?=[A-Z0-9\"'(\[])")


def source_path() -> pathlib.Path:
    """Where gensim's wheel keeps the Wikipedia sample."""
    import importlib.util

    spec = importlib.util.find_spec("gensim")  # locate the wheel without importing it (1-2 s)
    path = pathlib.Path(spec.origin if spec and spec.origin else "gensim").parent / "test" / "test_data" / WIKI_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the corpus ships in gensim's wheel; "
                                f"install gensim==4.4.0 (pip install gensim==4.4.0)")
    return path


def cache_dir() -> pathlib.Path:
    """The first writable of ``$COURSE_CACHE``, ``$XDG_CACHE_HOME/course``, ``~/.cache/course``, a temp dir."""
    candidates = []
    if os.environ.get("COURSE_CACHE"):
        candidates.append(pathlib.Path(os.environ["COURSE_CACHE"]))
    if os.environ.get("XDG_CACHE_HOME"):
        candidates.append(pathlib.Path(os.environ["XDG_CACHE_HOME"]) / "course")
    candidates.append(pathlib.Path.home() / ".cache" / "course")
    candidates.append(pathlib.Path(tempfile.gettempdir()) / f"course-cache-{os.getuid() if hasattr(os, 'getuid') else 0}")
    for path in candidates:
        try:
            path.mkdir(parents=True, exist_ok=True)
            if os.access(path, os.W_OK):
                return path
        except OSError:
            continue
    raise OSError(f"no writable cache directory among {candidates}: set COURSE_CACHE to one")


def clean_wiki(wikitext_filtered: str) -> list[str]:
    """Paragraphs of running text kept from one page's ``filter_wiki`` output (rules 2-4 above)."""
    text = wikitext_filtered.replace("'''", "").replace("''", "")
    kept = []
    for line in text.split("\n"):
        line = " ".join(line.split())
        if (not line or line.startswith(_DROP_START) or "|" in line or len(line.split()) < 5
                or not _ENDS_SENTENCE.search(line)):
            continue
        line = _EMPTY_BRACKETS.sub("", line)
        line = _SPACE_BEFORE.sub(r"\1", " ".join(line.split()))
        kept.append(line)
    return kept


def split_sentences(paragraph: str) -> list[str]:
    """The sentences of one paragraph (the sentence rule in the module docstring)."""
    pieces, start = [], 0
    for m in _BOUNDARY.finditer(paragraph):
        head = paragraph[start:m.start()]
        last = head.rsplit(None, 1)[-1] if head.strip() else ""
        word = last.rstrip(".!?\"')]").lower()
        initials = all(len(part) == 1 and part.isalpha() for part in word.split("."))  # "J." or "T.R."
        if last.endswith(".") and (initials or word in ABBREVIATIONS):
            continue
        pieces.append(paragraph[start:m.end(1)].strip())
        start = m.end()
    pieces.append(paragraph[start:].strip())
    return [p for p in pieces if p]


def _build(path: pathlib.Path) -> dict:
    import bz2

    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    docs = []
    with bz2.open(path) as f:
        for title, wikitext, _pageid in extract_pages(f):
            if wikitext.lstrip()[:9].upper() == "#REDIRECT":
                continue
            paragraphs = clean_wiki(filter_wiki(wikitext))
            if sum(len(p.split()) for p in paragraphs) >= MIN_WORDS:
                docs.append((title, paragraphs))
    docs.sort()
    order = np.random.default_rng(0).permutation(len(docs))
    docs = [docs[i] for i in order]
    sizes = np.array([sum(len(p.split()) for p in paras) for _, paras in docs])
    cum = np.cumsum(sizes) / sizes.sum()
    cuts = [int(np.searchsorted(cum, f)) + 1 for f in FRACTIONS]
    bounds = {"train": (0, cuts[0]), "valid": (cuts[0], cuts[1]), "test": (cuts[1], len(docs))}
    out = {}
    for split, (a, b) in bounds.items():
        part = docs[a:b]
        per_paragraph = [[split_sentences(p) for p in paras] for _, paras in part]
        for (_, paras), sents in zip(part, per_paragraph):   # the sentences rebuild each paragraph exactly
            assert all(" ".join(ss) == p for p, ss in zip(paras, sents))
        out[split] = {  # stored once: documents are rebuilt from the sentences on loading
            "titles": [t for t, _ in part],
            "sentences": "\n".join(s for doc in per_paragraph for ss in doc for s in ss),
            "layout": [[len(ss) for ss in doc] for doc in per_paragraph],
        }
    return out


def _unpack(stored: dict) -> dict:
    """The cache file's form (sentences once, plus sentences per paragraph) -> documents and sentences."""
    out = {}
    for split, part in stored.items():
        sents = part["sentences"].split("\n") if part["sentences"] else []
        docs, i = [], 0
        for doc in part["layout"]:
            paragraphs = []
            for count in doc:
                paragraphs.append(" ".join(sents[i:i + count]))
                i += count
            docs.append("\n".join(paragraphs))
        out[split] = {"titles": part["titles"], "documents": docs, "sentences": sents}
    return out


def _sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


ENV_SHARED = "COURSE_CACHE_SHARED"    # a read-only cache folder looked in first (the grader's)
#: the browser build's copy of the cache, inside the package (absent from a full install)
BUNDLED = pathlib.Path(__file__).with_name("cache")


def _shared_dir() -> pathlib.Path:
    """The read-only cache folder: ``$COURSE_CACHE_SHARED``, else the package's bundled copy."""
    return pathlib.Path(os.environ[ENV_SHARED]) if os.environ.get(ENV_SHARED) else BUNDLED


def _source_tag() -> str:
    """The SHA-256 (16 hex digits) of gensim's file; where gensim is missing (the browser),
    the tag of the shared copy of the cache, built from that file elsewhere."""
    try:
        return _sha256(source_path())
    except FileNotFoundError:
        copies = sorted(_shared_dir().glob(f"wiki-*-v{CLEANING_VERSION}.{_CACHE_FORMAT}.json"))
        if not copies:
            raise
        return copies[0].name.split("-")[1]


@functools.lru_cache(maxsize=None)
def _cache_stem() -> pathlib.Path:
    """The cache files' common path: cache dir / wiki-<sha256 of the source>-v<CLEANING_VERSION>."""
    return cache_dir() / f"wiki-{_source_tag()}-v{CLEANING_VERSION}.{_CACHE_FORMAT}"


def writable_cache_file(suffix: str) -> pathlib.Path:
    """Where the cache file ``<stem><suffix>`` is written: in ``cache_dir()``, never the shared folder."""
    return _cache_stem().with_name(_cache_stem().name + suffix)


def cache_file(suffix: str) -> pathlib.Path:
    """The cache file ``<stem><suffix>`` to read: in ``$COURSE_CACHE_SHARED`` if it is there, else in ``cache_dir()``."""
    own = writable_cache_file(suffix)
    shared = _shared_dir() / own.name
    return shared if shared.is_file() else own


def _write_atomic(path: pathlib.Path, content: str) -> None:
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, path)  # atomic: a reader never sees half a file


def warm_cache() -> list[pathlib.Path]:
    """Build every cache file the splits need (a few seconds, once per machine); returns their paths."""
    for split in SPLITS:
        characters(split)
    return [cache_file(".json")] + [cache_file(f"-chars-{split}.txt") for split in SPLITS]


@functools.lru_cache(maxsize=None)
def _load() -> dict:
    cache = cache_file(".json")
    if cache.exists():
        try:
            return _unpack(json.loads(cache.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError):
            pass  # a half-written or damaged cache: rebuild it
    stored = _build(source_path())
    _write_atomic(writable_cache_file(".json"), json.dumps(stored, ensure_ascii=False))
    return _unpack(stored)


def _split(split: str) -> dict:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return _load()[split]


def corpus(split: str = "train") -> list[str]:
    """The documents of a split, each one string of paragraphs joined by ``"\\n"`` (fresh list)."""
    return list(_split(split)["documents"])


def titles(split: str = "train") -> list[str]:
    """The Wikipedia titles of the documents of ``corpus(split)``, in the same order."""
    return list(_split(split)["titles"])


def sentences(split: str = "train") -> list[str]:
    """The sentences of a split, in document order (strings; tokenize with ``course.tokenize.words``)."""
    return list(_split(split)["sentences"])


@functools.lru_cache(maxsize=None)
def characters(split: str = "train") -> str:
    """A split as one normalised string over ``course.tokenize.CHAR_ALPHABET`` (documents joined by ``"\\n"``)."""
    cache = cache_file(f"-chars-{split}.txt")
    if cache.exists():
        try:
            return cache.read_text(encoding="utf-8")
        except OSError:
            pass
    chars = normalize_chars("\n".join(_split(split)["documents"]))
    _write_atomic(writable_cache_file(f"-chars-{split}.txt"), chars)
    return chars


@functools.lru_cache(maxsize=None)
def _word_sentences(split: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(words(s)) for s in _split(split)["sentences"])


def word_sentences(split: str = "train", vocab: Vocab | None = None) -> list[list[str]]:
    """The sentences of a split as word tokens (``course.tokenize.words``); with ``vocab``,
    every token outside it becomes ``"<unk>"``."""
    sents = _word_sentences(split)
    if vocab is None:
        return [list(s) for s in sents]
    stoi = vocab.stoi
    return [[t if t in stoi else UNK for t in s] for s in sents]


@functools.lru_cache(maxsize=None)
def word_vocab(min_freq: int = 2) -> Vocab:
    """The course's word vocabulary: ``<pad> <unk> <s> </s>``, then training words with count >= min_freq."""
    return Vocab.build((t for s in _word_sentences("train") for t in s), min_freq=min_freq,
                       specials=(PAD, UNK, BOS, EOS))


def char_vocab() -> Vocab:
    """The character vocabulary: ``CHAR_ALPHABET`` in order (id = position in the alphabet)."""
    return Vocab(list(CHAR_ALPHABET))


def stats() -> dict:
    """Documents, sentences, whitespace words and characters per split (for tables in lectures)."""
    out = {}
    for split in SPLITS:
        part = _split(split)
        out[split] = {"documents": len(part["documents"]), "sentences": len(part["sentences"]),
                      "words": sum(len(d.split()) for d in part["documents"]),
                      "characters": len(characters(split))}
    return out


def toy_corpus() -> list[str]:
    """Three short sentences whose n-gram counts can be checked by hand.

    ``"the cat sat"``, ``"the cat ran"``, ``"the dog sat"``: with the textbook
    padding, c(the)=3, c(the, cat)=2, so P_MLE(cat | the) = 2/3.
    """
    return ["the cat sat", "the cat ran", "the dog sat"]
