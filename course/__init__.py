"""An interactive deep-learning course: NumPy reference implementations,
checked against PyTorch, with widgets and nbgrader assignments.

Topic modules (one concept per file):

- ``course.conv``  convolution (cross-correlation), padding, output size, kernels
- ``course.pool``  max and average pooling
- ``course.data``  offline data: sample photograph, test patterns, digits, English text (``course.data.text``)
- ``course.autodiff``  scalar reverse-mode autodiff (``Value``)
- ``course.rnn``    vanilla RNN and LSTM forward/backward (BPTT), deep and bidirectional
- ``course.rnnlm``  RNN language model (Embedding -> RNN/LSTM -> Linear), truncated BPTT, sampling
- ``course.nn``     layers as modules with forward/backward (``Embedding`` too), ``gradcheck``
- ``course.embeddings``  word vectors: cosine, nearest/analogy, skip-gram (SGNS), PPMI+SVD, evaluation
- ``course.attention``  stable softmax with masks, scaled dot-product attention forward/backward
- ``course.optim``  ``SGD``, ``Adam``, ``AdamW`` (torch's update rules), warm-up + cosine schedule
- ``course.transformer``  training a ``TransformerLM`` on a token stream, held-out nll, sampling
- ``course.ladder``  the perplexity ladder: every language model of the course on the same text
- ``course.transformer_torch``  the torch twin of ``nn.TransformerLM``; train-step timing (CPU, GPU)
- ``course.train``  ``fit`` / ``evaluate`` / ``predict``
- ``course.tokenize``  word and character tokenizers, ``Vocab`` (ids <-> tokens)
- ``course.lm``     perplexity, bits per char, sampling from a distribution (the weighted die)
- ``course.ngram``  n-gram language models: MLE, add-k, interpolated Kneser-Ney
- ``course.recipe``  the ML recipe on a two-parameter problem (decision function, loss, objective)
- ``course.plotting``  figure helpers for the lectures (``draw_graph``, colour maps)
- ``course.timing``  NumPy vs PyTorch timing tables (CPU, and GPU when present)
- ``course.testing``  PyTorch as the oracle: converters and torch twins of our modules
- ``course.lite``   the course in the browser (JupyterLite): ``%%needs torch`` cells, ``needs()``
- ``course.widgets``  the explorers (controls and views; the math stays in the modules above)
- ``course.exercises``  the self-checks of the lectures' "your turn" cells
- ``course.checkers``  the checks that assignment test cells run in the student's kernel
- ``course.selfcheck``  ``course.check()`` / ``course check``: a notebook's visible tests, as a table
- ``course.grading``  the instructor's nbgrader tooling behind ``course grade``
- ``course.jupyter``  server-side pieces: the Voila template, the kernel websocket without
  Nagle's delay (``websocket``), the JupyterLite site builder (``lite_site``)

Import a topic module directly: ``from course import conv``.
"""

__version__ = "0.1.0"

from course import lite as _lite

_lite.register()  # the `%%needs torch` cell magic of the lectures (the browser skips such cells)


def check(path=None, timeout=60, verbose=False):
    """Run a notebook's tests in a fresh kernel and print a score table.

    In a notebook's last cell, ``course.check()`` checks that notebook as saved
    on disk; elsewhere pass the file: ``course.check("a1_convolution.ipynb")``.
    (See ``course.selfcheck``; the terminal equivalent is ``course check NB``.)
    """
    from course.selfcheck import check as _check

    return _check(path, timeout=timeout, verbose=verbose)
