"""Unit 2 benchmark: training a small CNN on digits, course.nn (NumPy) vs torch (CPU).

The network (both sides, float32, the same initial weights, the same minibatch
order): Conv2d(1, 16, 3, padding=1) -> ReLU -> MaxPool2d(2) -> Flatten ->
Linear(256, 10), SGD lr 0.05 momentum 0.9, batch 32, 20 epochs on the 1347
training digits; test accuracy on the 450 held-out digits.

Targets (issue 4): NumPy test accuracy >= 97 % in <= 30 s; NumPy training time
<= 1.2x torch's; the two follow the same trajectory (same weights after one
step to 1e-5). Thread counts are set by run.py (default 1 for torch and BLAS)
and recorded with each result. Run alone: ``python benchmarks/bench_train.py``.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from _timing import compare, threads
from course import nn, optim, train
from course.data import digits
from course.testing import torch_twin

EPOCHS, BATCH, LR, MOMENTUM, SEED = 20, 32, 0.05, 0.9, 0
DTYPE, TORCH_DTYPE = np.float32, torch.float32


def numpy_net(seed: int = SEED) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 4 * 4, 10, rng=rng)).to(DTYPE)


def torch_net(init: nn.Module) -> torch.nn.Sequential:
    """The identical torch network, with the weights of ``init`` copied in."""
    return torch_twin(init, dtype=TORCH_DTYPE)


def _copy(net: nn.Module) -> nn.Module:
    fresh = numpy_net()
    for p, q in zip(fresh.parameters(), net.parameters()):
        p.data[...] = q.data
    return fresh


def train_numpy(init, X, y, epochs=EPOCHS):
    net = _copy(init)
    opt = optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    train.fit(net, nn.SoftmaxCrossEntropy(), (X, y), epochs, BATCH, opt, seed=SEED, progress=False)
    return net


def train_torch(init, X, y, epochs=EPOCHS):
    """The same loop as ``course.train.fit``: same shuffling, loss and accuracy tracked per batch."""
    net = torch_net(init)
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    rng = np.random.default_rng(SEED)
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(X)))
        loss_sum, correct = 0.0, 0
        for start in range(0, len(X), BATCH):
            idx = order[start:start + BATCH]
            opt.zero_grad()
            scores = net(Xt[idx])
            loss = F.cross_entropy(scores, yt[idx])
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += int((scores.argmax(1) == yt[idx]).sum())
    return net


def one_step_difference(init, X, y, dtype=DTYPE) -> float:
    """Max |w_numpy - w_torch| over all weights after one SGD step on the same batch."""
    ours = _copy(init).to(dtype)
    theirs = torch_net(init).to(torch.float64 if dtype == np.float64 else TORCH_DTYPE)
    xb, yb = X[:BATCH].astype(dtype), y[:BATCH]
    loss = nn.SoftmaxCrossEntropy()
    opt = optim.SGD(ours.parameters(), lr=LR, momentum=MOMENTUM)
    t_opt = torch.optim.SGD(theirs.parameters(), lr=LR, momentum=MOMENTUM)
    opt.zero_grad()
    loss(ours(xb), yb)
    ours.backward(loss.backward())
    opt.step()
    t_opt.zero_grad()
    F.cross_entropy(theirs(torch.from_numpy(xb)), torch.from_numpy(yb)).backward()
    t_opt.step()
    t_params = dict(theirs.named_parameters())
    return max(float(np.abs(p.data - t_params[name].detach().numpy()).max()) for name, p in ours.named_parameters())


def training_case() -> dict:
    d = digits()
    X, y = d.X_train.astype(DTYPE), d.y_train
    X_test, y_test = d.X_test.astype(DTYPE), d.y_test
    init = numpy_net()
    trained = {}

    def run_numpy():
        trained["numpy"] = train_numpy(init, X, y)

    def run_torch():
        trained["torch"] = train_torch(init, X, y)

    result = compare(f"train CNN on digits, {EPOCHS} epochs", f"conv3x3x16-relu-maxpool2-linear, "
                     f"{len(X)} images, batch {BATCH}, float32",
                     run_numpy, run_torch, target=1.2, min_time=1.0, min_repeat=5)
    numpy_acc = train.evaluate(trained["numpy"], X_test, y_test)
    with torch.no_grad():
        torch_acc = float((trained["torch"](torch.from_numpy(X_test)).argmax(1).numpy() == y_test).mean())
    step32 = one_step_difference(init, X, y, np.float32)
    step64 = one_step_difference(init, X, y, np.float64)
    result.update(
        epochs=EPOCHS, batch_size=BATCH, lr=LR, momentum=MOMENTUM, dtype="float32",
        numpy_test_acc=numpy_acc, torch_test_acc=torch_acc, accuracy_target=0.97, time_target_s=30.0,
        one_step_max_abs_diff_float32=step32, one_step_max_abs_diff_float64=step64, one_step_target=1e-5,
        targets_met=bool(numpy_acc >= 0.97 and result["numpy_s"] <= 30.0 and result["ratio"] <= 1.2
                         and step32 <= 1e-5),
        threads=threads(),
    )
    return result


def cases() -> list[dict]:
    digits()  # loads scikit-learn (and maybe a second BLAS) before the thread limit below
    from threadpoolctl import threadpool_info, threadpool_limits

    # run.py limits the BLAS libraries loaded when it started; apply the same limit to all now loaded
    limit = min((p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"), default=1)
    with threadpool_limits(limits=limit, user_api="blas"), torch.inference_mode(False):
        return [training_case()]


if __name__ == "__main__":
    import json

    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    digits()
    with threadpool_limits(limits=1, user_api="blas"):
        print(json.dumps(cases(), indent=2))
