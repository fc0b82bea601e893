"""Neural-network layers as modules with a hand-written forward and backward.

This is backpropagation "componentized into layers" (the CS231n design): each
layer is a ``Module`` that knows how to

- ``forward(*inputs)``: compute its output, and *save* what its backward needs
  (its input, a mask, an output) on a small stack of caches;
- ``backward(grad_output)``: take d(loss)/d(output), *add* d(loss)/d(parameter)
  into every ``Parameter.grad``, and return d(loss)/d(input) — a tuple when
  forward took several inputs.

A network is a composition of modules (``Sequential``): forward runs the
layers in order, backward runs them in reverse, each one applying the chain
rule to its own piece. Nothing here builds a graph at run time — the order of
backward calls *is* the reverse topological order.

Design choices, chosen so that later units (LSTM, Transformer) fit:

- Gradients accumulate: ``backward`` does ``param.grad += ...``. A parameter
  shared by several modules, or a module applied at every time step, collects
  one contribution per use. So call ``zero_grad()`` before each backward pass.
- Caches form a stack: each ``forward`` in training mode pushes one cache
  (``save_for_backward``), each ``backward`` pops the latest (``pop_saved``).
  A module called T times in one step (an RNN cell unrolled over time, one
  attention block per layer) is backpropagated by calling ``backward`` T times
  in reverse order. In eval mode (``model.eval()``) nothing is saved, so
  evaluation on many batches keeps no memory; ``clear_cache()`` drops stale
  caches (e.g. after a forward whose backward you skipped).
- Parameters are float64 by default (for gradient checks); ``model.to(np.float32)``
  converts a whole model for faster training. Inputs should have the same dtype.

Writing a new layer: subclass ``Module``; keep Parameters (or lists of
modules) as attributes; in ``forward`` call ``self.save_for_backward(...)``
with what backward needs; in ``backward`` get it back with
``self.pop_saved()``, add parameter gradients with ``+=`` and return the input
gradient (a tuple, one per input, if forward took several). Then check it
with ``gradcheck(layer, inputs)``.

``gradcheck`` compares every backward against central finite differences.
"""
from course.nn.module import Parameter, Module
from course.nn.layers import Linear, ReLU, Tanh, Sigmoid, Flatten, Sequential
from course.nn.conv import Conv2d, MaxPool2d, AvgPool2d
from course.nn.embedding import Embedding
from course.nn.loss import CrossEntropyLoss, SoftmaxCrossEntropy, log_softmax
from course.nn.gradcheck import gradcheck, GradcheckReport
from course.nn.norm import LayerNorm, GELU, Dropout
from course.nn.attention import MultiheadAttention
from course.nn.transformer import PositionalEncoding, PositionalEmbedding, TransformerBlock, TransformerLM
from course.nn.recurrent import RNNCell, LSTMCell, RNN, LSTM
from course.nn.utils import clip_grad_norm_

__all__ = [
    "Parameter", "Module", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "ReLU", "Tanh",
    "Sigmoid", "Flatten", "Sequential", "CrossEntropyLoss", "SoftmaxCrossEntropy", "log_softmax",
    "gradcheck", "GradcheckReport", "Embedding",
    "LayerNorm", "GELU", "Dropout", "MultiheadAttention", "PositionalEncoding", "PositionalEmbedding",
    "TransformerBlock", "TransformerLM",
    "RNNCell", "LSTMCell", "RNN", "LSTM", "clip_grad_norm_",
]
