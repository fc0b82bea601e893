"""Recurrent layers: ``RNNCell``, ``LSTMCell``, ``RNN``, ``LSTM`` (torch's signatures and parameter names).

The math lives in ``course.rnn``; these modules hold the Parameters (named
exactly like torch's: ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``,
``bias_hh_l0``, ``weight_ih_l0_reverse``, ... so ``course.testing.copy_params``
works), push one cache per forward and add into ``.grad`` on backward.

Backward signatures (one gradient per input, as every multi-input module):

- ``RNNCell.backward(grad_h) -> (grad_x, grad_h_prev)``;
- ``LSTMCell.backward(grad_h, grad_c=None) -> (grad_x, grad_h_prev, grad_c_prev)``;
- ``RNN.backward(grad_output, grad_h_n=None)`` -> ``grad_x`` if forward was called
  without ``h0``, else ``(grad_x, grad_h0)``;
- ``LSTM.backward(grad_output, grad_h_n=None, grad_c_n=None)`` -> ``grad_x``
  without an initial state, else ``(grad_x, (grad_h0, grad_c0))``.

``grad_output`` may be None when only the final states feed the loss. After a
backward, ``module.grad_h_norms`` maps ``"l0"``, ``"l0_reverse"``, ... to
||dL/dh_t|| for t = 1..T (in the direction's own time order): the measurement
behind the vanishing/exploding-gradient demonstrations.
"""
from __future__ import annotations

import math

import numpy as np

from course import rnn as F
from course.nn.module import Module, Parameter, _rng

__all__ = ["RNNCell", "LSTMCell", "RNN", "LSTM"]


def _uniform(rng, bound, shape, dtype):
    return Parameter(rng.uniform(-bound, bound, shape), dtype)


def _check_sizes(name, input_size, hidden_size, num_layers=1):
    if input_size < 1 or hidden_size < 1 or num_layers < 1:
        raise ValueError(f"{name} needs input_size, hidden_size, num_layers >= 1, "
                         f"got ({input_size}, {hidden_size}, {num_layers})")


def _check_2d(name, x, size, what="x", axis_name="I"):
    if x.ndim != 2 or x.shape[1] != size:
        raise ValueError(f"{name} expects {what} of shape (N, {axis_name}) = (N, {size}), got {x.shape} "
                         "(one row per sequence in the batch; add a batch axis with x[None] for one sequence)")


# ============================================================== cells
class RNNCell(Module):
    """One vanilla RNN step, as ``torch.nn.RNNCell``: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)``.

    ``forward(x (N, I), h (N, H) or None) -> h' (N, H)``; ``backward(grad_h') -> (grad_x, grad_h)``.
    Apply it T times and call backward T times in reverse order: the caches stack, the
    parameter gradients add up (the same weights at every step).
    Parameters ``weight_ih (H, I)``, ``weight_hh (H, H)``, ``bias_ih``, ``bias_hh (H,)``,
    uniform in +-1/sqrt(H) (torch's init).
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 rng=None, dtype=np.float64):
        _check_sizes(type(self).__name__, input_size, hidden_size)
        F._check_nonlinearity(nonlinearity)
        rng = _rng(rng)
        self.input_size, self.hidden_size, self.nonlinearity = int(input_size), int(hidden_size), nonlinearity
        k = 1.0 / math.sqrt(hidden_size)
        G = self._gates
        self.weight_ih = _uniform(rng, k, (G * hidden_size, input_size), dtype)
        self.weight_hh = _uniform(rng, k, (G * hidden_size, hidden_size), dtype)
        self.bias_ih = _uniform(rng, k, (G * hidden_size,), dtype) if bias else None
        self.bias_hh = _uniform(rng, k, (G * hidden_size,), dtype) if bias else None

    _gates = 1

    def extra_repr(self) -> str:
        extra = "" if self.bias_ih is not None else ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            extra += f", nonlinearity={self.nonlinearity!r}"
        return f"{self.input_size}, {self.hidden_size}{extra}"

    def _b(self):
        return (None if self.bias_ih is None else self.bias_ih.data,
                None if self.bias_hh is None else self.bias_hh.data)

    def _state(self, x, h, what="h"):
        x = np.asarray(x)
        _check_2d(type(self).__name__, x, self.input_size)
        if h is None:
            return x, np.zeros((x.shape[0], self.hidden_size), self.weight_hh.dtype)
        h = np.asarray(h)
        if h.shape != (x.shape[0], self.hidden_size):
            raise ValueError(f"{type(self).__name__}: {what} must be (N, H) = ({x.shape[0]}, {self.hidden_size}) "
                             f"to go with x {x.shape}, got {h.shape}")
        return x, h

    def forward(self, x, h=None):
        x, h = self._state(x, h)
        h_new, cache = F.rnn_cell_forward(x, h, self.weight_ih.data, self.weight_hh.data, *self._b(),
                                          nonlinearity=self.nonlinearity)
        self.save_for_backward(cache)
        return h_new

    def _add_grads(self, g_w_ih, g_w_hh, g_b_ih, g_b_hh):
        self.weight_ih.grad += g_w_ih
        self.weight_hh.grad += g_w_hh
        if self.bias_ih is not None:
            self.bias_ih.grad += g_b_ih
            self.bias_hh.grad += g_b_hh

    def backward(self, grad_output):
        cache = self.pop_saved()
        gx, gh, *g = F.rnn_cell_backward(np.asarray(grad_output), cache)
        self._add_grads(*g)
        return gx, gh


class LSTMCell(RNNCell):
    """One LSTM step, as ``torch.nn.LSTMCell`` (gate blocks i, f, g, o in the 4H rows).

    ``forward(x (N, I), (h, c) or None) -> (h', c')``;
    ``backward(grad_h', grad_c'=None) -> (grad_x, grad_h, grad_c)``.
    """

    _gates = 4

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, rng=None, dtype=np.float64):
        super().__init__(input_size, hidden_size, bias, "tanh", rng, dtype)

    def forward(self, x, hc=None):
        if hc is None:
            x, h = self._state(x, None)
            c = np.zeros_like(h)
        else:
            if not (isinstance(hc, (tuple, list)) and len(hc) == 2):
                raise ValueError("LSTMCell.forward(x, (h, c)): the state is a pair (h, c) of (N, H) arrays, or None")
            x, h = self._state(x, hc[0])
            _, c = self._state(x, hc[1], what="c")
        h_new, c_new, cache = F.lstm_cell_forward(x, h, c, self.weight_ih.data, self.weight_hh.data, *self._b())
        self.save_for_backward(cache)
        return h_new, c_new

    def backward(self, grad_h, grad_c=None):
        if isinstance(grad_h, tuple) and grad_c is None:      # backward((grad_h, grad_c)) also works
            grad_h, grad_c = grad_h
        cache = self.pop_saved()
        gx, gh, gc, *g = F.lstm_cell_backward(np.asarray(grad_h), None if grad_c is None else np.asarray(grad_c),
                                              cache)
        self._add_grads(*g)
        return gx, gh, gc


# ============================================================== sequences
class RNN(Module):
    """A (deep, bidirectional) vanilla RNN over whole sequences, as ``torch.nn.RNN``.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)`` (dropout must be 0).

    ``forward(x, h0=None, lengths=None) -> (output, h_n)``:
    x (T, N, I) (or (N, T, I) with ``batch_first``), h0 (num_layers*D, N, H);
    output (T, N, D*H) (or (N, T, D*H)), h_n (num_layers*D, N, H), D = 2 if
    bidirectional. ``lengths`` (N,) for a padded batch (what torch does on a
    ``pack_padded_sequence``; padded outputs are 0).

    ``backward(grad_output, grad_h_n=None)`` fills every parameter's ``.grad``
    (added) and returns ``grad_x``, or ``(grad_x, grad_h0)`` if forward was given h0.
    """

    _mode = "rnn"
    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 rng=None, dtype=np.float64):
        name = type(self).__name__
        _check_sizes(name, input_size, hidden_size, num_layers)
        F._check_nonlinearity(nonlinearity)
        if dropout:
            raise ValueError(f"{name}: dropout between layers is not implemented here; use dropout=0.0")
        rng = _rng(rng)
        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        self.nonlinearity, self.bias, self.batch_first = nonlinearity, bool(bias), bool(batch_first)
        self.bidirectional = bool(bidirectional)
        D, G, H = self.num_directions, self._gates, self.hidden_size
        k = 1.0 / math.sqrt(hidden_size)
        for layer in range(self.num_layers):
            in_size = self.input_size if layer == 0 else D * H
            for d in range(D):
                names = F.param_names(layer, reverse=d == 1, bias=self.bias)
                shapes = [(G * H, in_size), (G * H, H), (G * H,), (G * H,)]
                for pname, shape in zip(names, shapes):
                    setattr(self, pname, _uniform(rng, k, shape, dtype))
        self.grad_h_norms = {}

    def __call__(self, x, state=None, lengths=None):
        return self.forward(x, state, lengths=lengths)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def extra_repr(self) -> str:
        parts = [f"{self.input_size}, {self.hidden_size}"]
        if self.num_layers != 1:
            parts.append(f"num_layers={self.num_layers}")
        if self._mode == "rnn" and self.nonlinearity != "tanh":
            parts.append(f"nonlinearity={self.nonlinearity!r}")
        for flag in ("batch_first", "bidirectional"):
            if getattr(self, flag):
                parts.append(f"{flag}=True")
        if not self.bias:
            parts.append("bias=False")
        return ", ".join(parts)

    def _params(self) -> dict:
        return {name: p.data for name, p in self.named_parameters()}

    def _check_input(self, x):
        x = np.asarray(x)
        layout = "(N, T, I)" if self.batch_first else "(T, N, I)"
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"{type(self).__name__} expects x of shape {layout} with I = {self.input_size}, "
                             f"got {x.shape}" + ("" if self.batch_first else
                                                 " (batch first? construct with batch_first=True)"))
        return np.swapaxes(x, 0, 1) if self.batch_first else x

    def _check_state(self, s, x, what):
        if s is None:
            return None
        s = np.asarray(s)
        want = (self.num_layers * self.num_directions, x.shape[1], self.hidden_size)
        if s.shape != want:
            raise ValueError(f"{type(self).__name__}: {what} must be (num_layers * num_directions, N, H) = {want}, "
                             f"got {s.shape}")
        return s

    def _run(self, x, h0, c0, lengths):
        x = self._check_input(x)
        h0 = self._check_state(h0, x, "h0")
        c0 = self._check_state(c0, x, "c0")
        if lengths is not None:
            F.length_mask(lengths, x.shape[0])
        out, h_n, c_n, cache = F.multilayer_forward(
            x, self._params(), self._mode, self.num_layers, self.bidirectional, h0, c0,
            self.nonlinearity, lengths)
        self.save_for_backward(cache, h0 is not None)
        if self.batch_first:
            out = np.swapaxes(out, 0, 1)
        return out, h_n, c_n

    def forward(self, x, h0=None, lengths=None):
        out, h_n, _ = self._run(x, h0, None, lengths)
        return out, h_n

    def _backward(self, grad_output, grad_h_n, grad_c_n):
        cache, had_state = self.pop_saved()
        if grad_output is not None:
            grad_output = np.asarray(grad_output)
            if self.batch_first:
                grad_output = np.swapaxes(grad_output, 0, 1)
        gx, gh0, gc0, grads = F.multilayer_backward(grad_output, cache, grad_h_n, grad_c_n)
        self.grad_h_norms = {}
        for name, p in self.named_parameters():
            p.grad += grads[name]
        for name, g in grads.items():
            if name.startswith("h_"):
                self.grad_h_norms[name[2:]] = F.grad_norm_per_step(g)
        if self.batch_first:
            gx = np.swapaxes(gx, 0, 1)
        return gx, gh0, gc0, had_state

    def backward(self, grad_output, grad_h_n=None):
        gx, gh0, _, had_state = self._backward(grad_output, grad_h_n, None)
        return (gx, gh0) if had_state else gx


class LSTM(RNN):
    """A (deep, bidirectional) LSTM over whole sequences, as ``torch.nn.LSTM``.

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False)``; gate blocks i, f, g, o.

    ``forward(x, (h0, c0)=None, lengths=None) -> (output, (h_n, c_n))``, shapes as ``RNN``.
    ``backward(grad_output, grad_h_n=None, grad_c_n=None)`` returns ``grad_x``, or
    ``(grad_x, (grad_h0, grad_c0))`` if forward was given the initial state.
    """

    _mode = "lstm"
    _gates = 4

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 rng=None, dtype=np.float64):
        super().__init__(input_size, hidden_size, num_layers, "tanh", bias, batch_first, dropout, bidirectional,
                         rng, dtype)

    def forward(self, x, hc=None, lengths=None):
        if hc is None:
            h0 = c0 = None
        elif isinstance(hc, (tuple, list)) and len(hc) == 2:
            h0, c0 = hc
        else:
            raise ValueError("LSTM.forward(x, (h0, c0)): the initial state is a pair (h0, c0) or None")
        out, h_n, c_n = self._run(x, h0, c0, lengths)
        return out, (h_n, c_n)

    def backward(self, grad_output, grad_h_n=None, grad_c_n=None):
        if isinstance(grad_h_n, tuple) and grad_c_n is None:    # backward(g, (grad_h_n, grad_c_n)) also works
            grad_h_n, grad_c_n = grad_h_n
        gx, gh0, gc0, had_state = self._backward(grad_output, grad_h_n, grad_c_n)
        return (gx, (gh0, gc0)) if had_state else gx
