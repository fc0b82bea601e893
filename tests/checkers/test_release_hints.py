"""The released notebooks teach without giving the answer: no key expression of a
solution appears in the text a student reads (markdown, docstrings, comments of the
answer and setup cells), and every test cell of the solution passes while the
released stubs fail each visible test as "not implemented yet".

The key expressions are extracted from the solution cells automatically: every
statement between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` and every
call, subscript, arithmetic expression and string constant inside it, written
out by ``ast.unparse`` and normalised (lower case, no whitespace). Those that
the released notebook shows as given code (outside the docstrings) are not
secrets, nor are short ones (under 10 characters) or calls without arguments
(API names such as ``self.pop_saved()``).
"""
from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
MIN_LENGTH = 10


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _regions(source: str) -> list[str]:
    return [textwrap.dedent(m.group(1)) for m in
            re.finditer(r"### BEGIN SOLUTION\n(.*?)\n[ \t]*### END SOLUTION", source, re.S)]


def key_expressions(solution: Path) -> set[str]:
    """Every non-trivial statement and sub-expression of the solution regions of code cells."""
    found: set[str] = set()
    for cell in nbformat.read(solution, as_version=4).cells:
        if cell.cell_type != "code" or not _nbgrader(cell).get("solution"):
            continue
        for region in _regions(cell.source):
            tree = ast.parse(region)
            for node in ast.walk(tree):
                if isinstance(node, ast.stmt) and not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.For,
                                                                         ast.If, ast.While, ast.With)):
                    found.add(ast.unparse(node))
                elif isinstance(node, (ast.Call, ast.Subscript, ast.BinOp, ast.Compare, ast.Slice)):
                    if not (isinstance(node, ast.Call) and not node.args and not node.keywords):
                        found.add(ast.unparse(node))
                elif isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) >= 4:
                    found.add(node.value)
                if isinstance(node, ast.For):
                    found.add(f"for {ast.unparse(node.target)} in {ast.unparse(node.iter)}")
    return {e for e in (_norm(x) for x in found) if len(e) >= MIN_LENGTH}


def _prose_and_code(source: str) -> tuple[str, str]:
    """(docstrings + comments, the code without them) of a code cell."""
    prose, spans = [], []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, ""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            prose.append(body[0].value.value)
            spans.append((body[0].lineno, body[0].end_lineno))
    lines = source.splitlines()
    keep = [line for i, line in enumerate(lines, 1) if not any(a <= i <= b for a, b in spans)]
    code_lines = []
    for tok in tokenize.generate_tokens(io.StringIO("\n".join(keep) + "\n").readline):
        if tok.type == tokenize.COMMENT:
            prose.append(tok.string)
    for line in keep:
        code_lines.append(line.split("#")[0])
    return "\n".join(prose), "\n".join(code_lines)


def student_text(release: Path) -> tuple[str, str]:
    """(what the student reads, the code given to them) of a released notebook, test cells excluded."""
    read, given = [], []
    for cell in nbformat.read(release, as_version=4).cells:
        meta = _nbgrader(cell)
        if meta.get("grade") and not meta.get("solution"):
            continue                                   # the test scaffolding
        if cell.cell_type == "markdown":
            read.append(cell.source)
        else:
            prose, code = _prose_and_code(cell.source)
            read.append(prose)
            given.append(code)
    return _norm("\n".join(read)), _norm("\n".join(given))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_hints_contain_no_solution_code(assignment):
    solution = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    release = ROOT / "assignments" / assignment / f"{assignment}.ipynb"
    secrets = key_expressions(solution)
    assert len(secrets) > 20, "the extraction found too little to test"
    read, given = student_text(release)
    leaked = sorted(e for e in secrets if e in read and e not in given)
    assert not leaked, f"{assignment}: the released text gives away solution code: {leaked}"


def test_the_grep_catches_a_hint_that_answers(tmp_path):
    """The test itself: the old A1 hints (the slice and the einsum string) are caught."""
    solution = ROOT / "solutions" / "a1_convolution" / "a1_convolution.ipynb"
    nb = nbformat.read(ROOT / "assignments" / "a1_convolution" / "a1_convolution.ipynb", as_version=4)
    cell = next(c for c in nb.cells if _nbgrader(c).get("grade_id") == "conv2d")
    cell.source = cell.source.replace('    TODO:', '    APPROACH: add np.einsum("nchw,fc->nfhw", view, weight[:, :, i, j])\n    TODO:')
    leaky = tmp_path / "leaky.ipynb"
    nbformat.write(nb, leaky)
    read, given = student_text(leaky)
    leaked = {e for e in key_expressions(solution) if e in read and e not in given}
    assert any("nchw,fc->nfhw" in e for e in leaked)
