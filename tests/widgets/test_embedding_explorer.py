"""EmbeddingExplorer driven from Python, on hand-made vectors (no corpus needed)."""
import numpy as np
import pytest

from course import embeddings as E
from course.widgets.embeddings import EmbeddingExplorer

# q's neighbours disagree: "far" points q's way but is long (cosine 0.995, distance 9.1);
# "near" is short and at 45 degrees (cosine 0.707, distance 0.707)
TOY = E.KeyedVectors(["q", "far", "near", "other"],
                     np.array([[1.0, 0.0], [10.0, 1.0], [0.5, 0.5], [-1.0, 0.2]]))

# a 3-D vocabulary where king - man + woman lands on queen (the offset "female" = axis 2)
ROYAL = E.KeyedVectors(
    ["king", "man", "woman", "queen", "prince", "apple", "paris", "france", "italy", "rome"],
    np.array([[3.0, 1.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 2.0], [3.0, 1.0, 2.0], [2.6, 1.2, 0.1],
              [0.0, -2.0, 0.3], [-1.0, 3.0, 0.5], [-2.0, 2.0, 0.4], [-2.2, 2.4, -0.6], [-1.2, 3.4, -0.5]]))


def test_neighbours_equal_keyedvectors_nearest():
    w = EmbeddingExplorer(vectors=ROYAL, query="king", k=4, analogy=("king", "man", "woman"))
    assert w.error is None
    assert w.neighbours == ROYAL.nearest("king", 4)
    w.k = 7
    assert w.neighbours == ROYAL.nearest("king", 7)
    w.query = "paris"
    assert w.neighbours == ROYAL.nearest("paris", 7)
    assert w.plotted[0] == "paris" and set(w.plotted) >= {n for n, _ in w.neighbours}
    assert w.projection.shape == (len(w.plotted), 2)
    assert w._status.value == "rendered #3"                             # first draw + k + query
    assert w.pixels.ndim == 3 and w.pixels.shape[2] == 3


def test_metric_toggle_changes_the_ranking():
    w = EmbeddingExplorer(vectors=TOY, query="q", k=3, analogy=("", "", ""))
    assert [n for n, _ in w.neighbours] == ["far", "near", "other"]     # by cosine
    assert w.neighbours[0][1] == pytest.approx(10 / np.sqrt(101))
    w.metric = "euclidean"
    assert [n for n, _ in w.neighbours] == ["near", "other", "far"]     # by distance (other: 2.01)
    assert w.neighbours[0][1] == pytest.approx(np.sqrt(0.5))
    assert w.neighbours == TOY.nearest("q", 3, metric="euclidean")
    assert w.error is None
    with pytest.raises(ValueError, match="metric must be one of"):
        w.metric = "manhattan"


def test_analogy_result_equals_keyedvectors_analogy():
    w = EmbeddingExplorer(vectors=ROYAL, query="king", analogy=("king", "man", "woman"))
    assert w.analogy == ("king", "man", "woman")
    assert w.analogy_result == ROYAL.analogy("king", "man", "woman", k=5)
    assert w.analogy_result[0][0] == "queen"                              # by construction of ROYAL
    before = w.renders
    w.analogy = ("paris", "france", "italy")
    assert w.renders == before + 1                                        # one redraw for three words
    assert w.analogy_result == ROYAL.analogy("paris", "france", "italy", k=5)
    assert {"paris", "france", "italy", w.analogy_result[0][0]} <= set(w.plotted)
    assert "paris − france + italy" in w._analogy_html.value


def test_unknown_word_is_shown_not_raised():
    w = EmbeddingExplorer(vectors=ROYAL, query="king", analogy=("king", "man", "woman"))
    w.query = "kingg"                                                     # must not raise
    assert w.error is not None and "'kingg' is not in the vocabulary (10 words)" in w.error
    assert "close: king" in w.error
    assert w.neighbours == []
    assert "kingg" in w._error_html.value and w._error_html.layout.display != "none"
    w.analogy = ("king", "mann", "woman")
    assert "analogy: 'mann' is not in the vocabulary" in w.error and w.analogy_result == []
    w.query, w.analogy = "queen", ("king", "man", "woman")
    assert w.error is None and w.neighbours == ROYAL.nearest("queen", w.k)
    assert w._error_html.layout.display == "none"


def test_extra_words_are_plotted():
    w = EmbeddingExplorer(vectors=ROYAL, query="king", k=2, analogy=("", "", ""))
    w.extra = ["apple", "rome"]
    assert w.plotted == ["king", *[n for n, _ in ROYAL.nearest("king", 2)], "apple", "rome"]
    w.extra = "apple zzz"
    assert "also plot: 'zzz'" in w.error and "zzz" not in w.plotted
