"""``course grade similarity A``: near-copies, for an instructor to look at (not a verdict).

For every exercise (every answer cell of the assignment, by ``grade_id``) the
code each student submitted is fingerprinted with winnowing (the ``copydetect``
package, the method of MOSS: k-grams of the tokenized code with names and
literals normalized, so renaming variables does not hide a copy; the released
stub of the cell is boilerplate and does not count) and compared

- with every other student's answer to the same exercise, and
- with the course's reference code (the modules of the ``course`` package that
  the lectures teach with).

A pair is listed when the overlap reaches ``threshold`` of either side's code.
The report is a table (:meth:`Similarity.text`) and an HTML page with the two
codes side by side and the shared passages marked (:func:`write_html`).
"""
from __future__ import annotations

import html
import io
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import nbformat

from course.grading.workspace import Workspace

NOISE = 25        # k: shortest shared passage that counts (characters of normalized code)
GUARANTEE = 30    # every shared passage this long is found (winnowing window = GUARANTEE - NOISE + 1)


@dataclass
class Match:
    exercise: str
    a: str                      # student
    b: str                      # student, or "reference:course/conv.py"
    share_a: float              # fraction of a's code found in b
    share_b: float
    code_a: str = ""
    code_b: str = ""
    slices_a: list = field(default_factory=list)
    slices_b: list = field(default_factory=list)


@dataclass
class Similarity:
    assignment: str
    threshold: float
    students: list[str] = field(default_factory=list)
    exercises: list[str] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)

    def text(self) -> str:
        out = [f"Similarity in {self.assignment}: {len(self.students)} submission(s), "
               f"{len(self.exercises)} exercise(s); pairs sharing >= {self.threshold:.0%} of either side's code",
               "(winnowing fingerprints; a lead to look at, not a verdict)", "",
               f"{'exercise':<24} {'submission':<20} {'similar to':<28} {'share':>7} {'other':>7}"]
        for m in self.matches:
            out.append(f"{m.exercise:<24} {m.a:<20} {m.b:<28} {m.share_a:>7.0%} {m.share_b:>7.0%}")
        if not self.matches:
            out.append("  (none)")
        return "\n".join(out)


def _fingerprint(code: str, name: str, boilerplate=None):
    from copydetect import CodeFingerprint

    return CodeFingerprint(name, NOISE, GUARANTEE - NOISE + 1, boilerplate=boilerplate, fp=io.StringIO(code),
                           language="python")


def _answers(path: Path) -> dict[str, str]:
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return {}
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
            and c.metadata["nbgrader"].get("grade_id")}


def reference_files() -> dict[str, str]:
    """The course's reference modules (what the lectures teach with), by path."""
    import course

    pkg = Path(course.__file__).resolve().parent
    skip = {"grading", "checkers", "widgets"}
    return {f"course/{p.relative_to(pkg)}": p.read_text() for p in sorted(pkg.rglob("*.py"))
            if not skip & set(p.relative_to(pkg).parts) and p.name != "__init__.py"}


def build(ws: Workspace, assignment: str, threshold: float = 0.6) -> Similarity:
    from copydetect import compare_files

    result = Similarity(assignment, threshold)
    release = ws.path("release", ".", assignment)
    stubs: dict[str, str] = {}
    for nb_path in sorted(release.glob("*.ipynb")):
        stubs.update(_answers(nb_path))
    result.exercises = sorted(stubs)
    submitted = ws.step_dir("submitted")
    per_student: dict[str, dict[str, str]] = {}
    for folder in sorted(submitted.glob(f"*/{assignment}")) if submitted.is_dir() else []:
        answers = {}
        for nb_path in sorted(folder.glob("*.ipynb")):
            answers.update(_answers(nb_path))
        per_student[folder.parent.name] = answers
    result.students = sorted(per_student)
    refs = {name: _fingerprint(code, name) for name, code in reference_files().items()}
    for exercise in result.exercises:
        stub = _fingerprint(stubs[exercise], "stub.py")
        boiler = list(stub.hashes)
        prints = {}
        for student, answers in per_student.items():
            code = answers.get(exercise, "")
            if code.strip() and code.strip() != stubs[exercise].strip():
                prints[student] = (code, _fingerprint(code, f"{student}.py", boiler))
        for (s1, (c1, f1)), (s2, (c2, f2)) in combinations(sorted(prints.items()), 2):
            _, (sh1, sh2), (sl1, sl2) = compare_files(f1, f2)
            if max(sh1, sh2) >= threshold:
                result.matches.append(Match(exercise, s1, s2, float(sh1), float(sh2), c1, c2,
                                            _slices(sl1), _slices(sl2)))
        for student, (code, fp) in sorted(prints.items()):
            for ref_name, ref in refs.items():
                _, (sh1, sh2), (sl1, sl2) = compare_files(fp, ref)
                if sh1 >= threshold:
                    result.matches.append(Match(exercise, student, f"reference:{ref_name}", float(sh1),
                                                float(sh2), code, ref.raw_code, _slices(sl1), _slices(sl2)))
    result.matches.sort(key=lambda m: (m.exercise, -max(m.share_a, m.share_b), m.a, m.b))
    return result


def _slices(sl) -> list[tuple[int, int]]:
    if len(sl) == 0 or len(sl[0]) == 0:
        return []
    return [(int(a), int(b)) for a, b in zip(sl[0], sl[1])]


def _marked(code: str, slices) -> str:
    out, pos = [], 0
    for start, end in sorted(slices):
        start, end = max(start, pos), min(end, len(code))
        if start >= end:
            continue
        out += [html.escape(code[pos:start]), "<mark>", html.escape(code[start:end]), "</mark>"]
        pos = end
    out.append(html.escape(code[pos:]))
    return "".join(out)


def write_html(result: Similarity, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"<tr><td>{html.escape(m.exercise)}</td><td>{html.escape(m.a)}</td><td>{html.escape(m.b)}</td>"
                   f"<td>{m.share_a:.0%}</td><td>{m.share_b:.0%}</td><td><a href='#m{i}'>compare</a></td></tr>"
                   for i, m in enumerate(result.matches))
    pairs = "".join(
        f"<h3 id='m{i}'>{html.escape(m.exercise)}: {html.escape(m.a)} ({m.share_a:.0%}) vs {html.escape(m.b)} "
        f"({m.share_b:.0%})</h3><div class='pair'><pre>{_marked(m.code_a, m.slices_a)}</pre>"
        f"<pre>{_marked(m.code_b, m.slices_b) if not m.b.startswith('reference:') else _clip_ref(m)}</pre></div>"
        for i, m in enumerate(result.matches))
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Similarity: {html.escape(result.assignment)}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:4px 8px}}
.pair{{display:flex;gap:1em}} pre{{flex:1;background:#f7f7f7;padding:8px;overflow:auto;max-height:30em}} mark{{background:#ffd54f}}</style>
</head><body><h1>Similarity: {html.escape(result.assignment)}</h1>
<p>{len(result.students)} submissions, {len(result.exercises)} exercises. Pairs whose shared code (winnowing
fingerprints, names normalized) reaches {result.threshold:.0%} of either side. A lead for the instructor to read,
not a verdict: short exercises have few ways to be written.</p>
<table><tr><th>exercise</th><th>submission</th><th>similar to</th><th>share of it</th><th>share of other</th><th></th></tr>
{rows or "<tr><td colspan=6>none</td></tr>"}</table>{pairs}</body></html>"""
    path.write_text(page)
    return path


def _clip_ref(m: Match) -> str:
    """Only the marked passages of a reference module (with a little context), not the whole file."""
    if not m.slices_b:
        return ""
    start = max(0, min(a for a, _ in m.slices_b) - 200)
    end = min(len(m.code_b), max(b for _, b in m.slices_b) + 200)
    shifted = [(a - start, b - start) for a, b in m.slices_b]
    return _marked(m.code_b[start:end], shifted)
