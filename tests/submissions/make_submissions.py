"""Regenerate the sample submissions of Assignment 1 used by tests/test_grading.py.

    .venv/bin/python tests/submissions/make_submissions.py

Each student folder holds what a student would hand in: the released notebook
with answers filled in (the solution, or the solution with a typical mistake),
or a hostile notebook (infinite loop, dead kernel, edited/deleted test cells),
or a broken hand-in (invalid JSON, wrongly named file).  Expected scores are in
EXPECTED (autograded points out of 90; the written answer is graded by hand).
"""
from __future__ import annotations

import copy
import shutil
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
A = "a1_convolution"
OUT = Path(__file__).resolve().parent / A

# student -> (autograded score, set of flag kinds:cell)
EXPECTED = {
    "correct": (90, set()),
    "partly_wrong": (35, set()),
    "delegates": (50, set()),
    "infinite_loop": (75, {"timeout:test_max_pool2d"}),
    "ignores_interrupt": (55, {"timeout:test_max_pool2d", "unresponsive:test_max_pool2d"}),
    "kernel_dies": (70, {"kernel_died:test_avg_pool2d"}),
    "tampered_edit": (85, {"tampered:test_avg_pool2d"}),
    "tampered_delete": (75, {"tampered:test_max_pool2d_backward"}),
    "stub": (0, set()),
    "corrupt": (0, {"corrupt:a1_convolution"}),
    "renamed": (90, {"renamed:a1_convolution"}),
    "ambiguous": (0, {"missing:a1_convolution"}),
}


def strip_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def filled() -> nbformat.NotebookNode:
    """The released notebook with every answer cell replaced by the solution's."""
    release = nbformat.read(ROOT / "assignments" / A / f"{A}.ipynb", as_version=4)
    source = nbformat.read(ROOT / "solutions" / A / f"{A}.ipynb", as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = strip_markers(answers[meta["grade_id"]])
    return release


def cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def replace(nb, grade_id, old, new):
    c = cell(nb, grade_id)
    assert old in c.source, (grade_id, old)
    c.source = c.source.replace(old, new)


def make() -> dict[str, nbformat.NotebookNode | str]:
    subs: dict[str, nbformat.NotebookNode | str] = {}
    good = filled()
    subs["correct"] = good

    nb = copy.deepcopy(good)            # typical mistakes: flipped kernel (twice), x == max on ties
    replace(nb, "conv2d_single", "* w)", "* w[::-1, ::-1])")
    replace(nb, "conv2d", "weight[:, :, i, j])", "weight[:, :, kh - 1 - i, kw - 1 - j])")
    c = cell(nb, "max_pool2d_backward")
    c.source = c.source.replace(
        "first = xp[:, :, rows, cols].reshape(n, c, -1).argmax(axis=2)\n"
        "            mask = np.zeros((n, c, kh * kw))\n"
        "            np.put_along_axis(mask, first[..., None], 1.0, axis=2)\n",
        "win = xp[:, :, rows, cols].reshape(n, c, -1)\n"
        "            mask = (win == win.max(axis=2, keepdims=True)).astype(float)\n")
    assert "win.max" in c.source
    subs["partly_wrong"] = nb

    nb = copy.deepcopy(good)            # calls the reference / PyTorch
    cell(nb, "conv2d").source = (
        "import course.conv\n\n"
        "def conv2d(x, weight, bias=None, stride=1, padding=0):\n"
        "    return course.conv.conv2d(x, weight, bias, stride=stride, padding=padding)\n")
    cell(nb, "max_pool2d").source = (
        "import torch\n\n"
        "def max_pool2d(x, kernel_size, stride=None, padding=0):\n"
        "    return torch.nn.functional.max_pool2d(torch.from_numpy(x), kernel_size, stride, padding).numpy()\n")
    subs["delegates"] = nb

    nb = copy.deepcopy(good)
    replace(nb, "max_pool2d", "    kh, kw = as_pair(kernel_size)\n", "    while True:\n        pass\n")
    subs["infinite_loop"] = nb

    nb = copy.deepcopy(good)
    replace(nb, "max_pool2d", "    kh, kw = as_pair(kernel_size)\n",
            "    while True:\n        try:\n            while True:\n                pass\n"
            "        except KeyboardInterrupt:\n            pass\n")
    subs["ignores_interrupt"] = nb

    nb = copy.deepcopy(good)
    replace(nb, "avg_pool2d", "    kh, kw = as_pair(kernel_size)\n", "    import os\n    os._exit(1)\n")
    subs["kernel_dies"] = nb

    nb = copy.deepcopy(good)            # wrong answer, and its test cell edited to hide it
    replace(nb, "avg_pool2d", "    return out / (kh * kw)", "    return out")
    cell(nb, "test_avg_pool2d").source = "print('avg_pool2d: all tests passed')\n"
    subs["tampered_edit"] = nb

    nb = copy.deepcopy(good)            # wrong answer, and its test cell deleted
    replace(nb, "max_pool2d_backward", "    return gp[:, :, ph:ph + h, pw:pw + w]", "    return np.zeros_like(x)")
    nb.cells.remove(cell(nb, "test_max_pool2d_backward"))
    subs["tampered_delete"] = nb

    subs["stub"] = nbformat.read(ROOT / "assignments" / A / f"{A}.ipynb", as_version=4)
    subs["corrupt"] = '{"cells": [ {"cell_type": "code", "source": "def output_size(n, k'   # truncated JSON
    return subs


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    for student, nb in make().items():
        folder = OUT / student
        folder.mkdir(parents=True)
        path = folder / f"{A}.ipynb"
        if isinstance(nb, str):
            path.write_text(nb)
        else:
            nbformat.write(nb, path)
    renamed = OUT / "renamed"             # handed in under another name: graded, flagged "renamed"
    renamed.mkdir()
    nbformat.write(filled(), renamed / "A1 convolution (final).ipynb")
    ambiguous = OUT / "ambiguous"         # two notebooks, neither with the right name: which one?
    ambiguous.mkdir()
    for name in ("draft.ipynb", "final version.ipynb"):
        nbformat.write(filled(), ambiguous / name)
    print(f"wrote {len(EXPECTED)} submissions to {OUT}")


if __name__ == "__main__":
    main()
