"""nbgrader preprocessors that ``autograder/nbgrader_config.py`` plugs in.

They extend nbgrader where it falls short for a course (see
``shared notes: nbgrader facts``), without replacing any of its steps:

- :class:`DetectTampering` (autograde, before ``OverwriteCells``): flags edited
  or deleted read-only cells and puts deleted ones back, so that nbgrader then
  restores their source (hidden tests included) from the gradebook.
- :class:`RobustExecute` (autograde): nbgrader's ``Execute``; a kernel that dies
  or ignores the interrupt after a timeout no longer fails the submission: the
  remaining cells get an error output (0 points) and the notebook a flag.
- :class:`ClearHiddenTestsAndTracebacks` (feedback): nbgrader's
  ``ClearHiddenTests`` that also replaces the tracebacks and stderr of those
  cells by the one-line failure message, since a traceback prints the code.

Flags are stored in the graded notebook's metadata (``course_grading.flags``),
a list of ``{"kind", "cell", "detail"}``; ``course grade export/report`` read them.
"""
from __future__ import annotations

import asyncio
import copy
import json
import os
from queue import Empty
from time import monotonic

import nbformat
from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from traitlets import Float

from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor

FLAGS_KEY = "course_grading"


def add_flag(nb: NotebookNode, kind: str, cell: str, detail: str) -> None:
    """Record a flag in the notebook's metadata (kept in the autograded copy)."""
    meta = nb.metadata.setdefault(FLAGS_KEY, {})
    meta.setdefault("flags", []).append({"kind": kind, "cell": cell, "detail": detail})


def notebook_flags(nb: NotebookNode) -> list[dict]:
    return list(nb.metadata.get(FLAGS_KEY, {}).get("flags", []))


def _cell_name(cell, index) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index}"


def _error(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


# --------------------------------------------------------------------- tampering
class DetectTampering(NbGraderPreprocessor):
    """Compare read-only cells with the released notebook; flag and re-insert."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        released = self._released(info["assignment"], info["notebook"])
        if released is None:
            self.log.warning("DetectTampering: no released copy of %s/%s; not checked",
                             info["assignment"], info["notebook"])
            return nb, resources
        submitted = {}
        for idx, cell in enumerate(nb.cells):
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid is not None:
                submitted.setdefault(gid, idx)

        inserts: dict[int, list] = {}
        previous = -1
        for rcell in released.cells:
            meta = rcell.metadata.get("nbgrader", {})
            gid = meta.get("grade_id")
            if gid is None:
                continue
            if gid in submitted:
                previous = submitted[gid]
                cell = nb.cells[previous]
                if meta.get("locked") and cell.source.strip() != rcell.source.strip():
                    add_flag(nb, "tampered", gid, "read-only cell edited; restored from the gradebook")
                continue
            kind = "tampered" if meta.get("locked") else "deleted_answer"
            what = "read-only cell deleted" if meta.get("locked") else "answer cell deleted"
            add_flag(nb, kind, gid, f"{what}; restored from the gradebook")
            inserts.setdefault(previous, []).append(copy.deepcopy(rcell))

        if inserts:
            cells = list(inserts.get(-1, []))
            for idx, cell in enumerate(nb.cells):
                cells.append(cell)
                cells.extend(inserts.get(idx, []))
            nb.cells = cells
        return nb, resources

    def _released(self, assignment: str, notebook: str):
        coursedir = CourseDirectory(config=self.config)
        path = os.path.join(coursedir.format_path(coursedir.release_directory, ".", assignment),
                            f"{notebook}.ipynb")
        if not os.path.exists(path):
            return None
        return nbformat.read(path, as_version=4)


# ---------------------------------------------------------------------- execute
class RobustExecute(Execute):
    """nbgrader's Execute, surviving dead and unresponsive kernels.

    After a cell times out, nbclient interrupts the kernel.  If the kernel does
    not answer a ``kernel_info`` request within ``unresponsive_grace`` seconds
    (student code swallowed the KeyboardInterrupt), it is killed.  A dead or
    killed kernel leaves the remaining code cells with an error (0 points).
    """

    unresponsive_grace = Float(
        3.0, help="Seconds an interrupted kernel has to answer before it is killed."
    ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        from course.grading import sandbox

        self._stopped = None        # why the remaining cells cannot run
        self._timed_out = False
        self._kms = []              # the kernel managers used (sandbox flags are read after the run)
        self._out_limit = sandbox.Limits.from_env().output_kb * 1024
        self._out_bytes = {}
        nb, resources = super().preprocess(nb, resources, km)
        for used in self._kms:
            sandbox.finish(self, used, add_flag)
        return nb, resources

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most ``output_kb`` of output per cell (a print loop cannot fill the grader's memory)."""
        size = len(json.dumps(msg.get("content", {}), default=str))
        total = self._out_bytes[cell_index] = self._out_bytes.get(cell_index, 0) + size
        if total > self._out_limit:
            if total - size <= self._out_limit:
                name = _cell_name(self.nb.cells[cell_index], cell_index)
                add_flag(self.nb, "output_too_large", name,
                         f"printed more than {self._out_limit // 1024} KB; the rest was dropped and the cell interrupted")
                outs.append(nbformat.v4.new_output("stream", name="stderr",
                                                   text="\n[output truncated by the grader]\n"))
                if self.km is not None:
                    asyncio.ensure_future(ensure_async(self.km.interrupt_kernel()))
            return None
        return super().output(outs, msg, display_id, cell_index)

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def preprocess_cell(self, cell, resources, index):
        name = _cell_name(cell, index)
        if self._stopped is not None:
            if cell.cell_type == "code" and cell.source.strip():
                cell.outputs = [_error("NotExecuted", f"not run: {self._stopped}")]
            return cell, resources
        self._timed_out = False
        from course.grading import sandbox

        if self.km is not None and self.km not in self._kms:
            self._kms.append(self.km)
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._stopped = f"the kernel died in {name}"
            cell.outputs.append(_error("DeadKernelError",
                                       "the kernel died while running this cell "
                                       "(os._exit, a crash, or out of memory)"))
            kind, detail = sandbox.death(self)
            add_flag(self.nb, kind, name, detail if kind != "kernel_died" else
                     "kernel died; remaining cells scored 0")
            return cell, resources
        sandbox.record_cell(self, cell, name, add_flag)
        if self._timed_out:
            add_flag(self.nb, "timeout", name, f"no reply within {self.timeout} s; interrupted")
            if not run_sync(self._async_responsive)(self.unresponsive_grace):
                self._stopped = f"the kernel ignored the interrupt in {name} and was stopped"
                add_flag(self.nb, "unresponsive", name,
                         "kernel ignored the interrupt; killed, remaining cells scored 0")
                run_sync(self._async_kill)()
        return cell, resources

    async def _async_responsive(self, wait: float) -> bool:
        """Does the kernel answer a kernel_info request within ``wait`` seconds?"""
        msg_id = self.kc.kernel_info()
        deadline = monotonic() + wait
        while (left := deadline - monotonic()) > 0:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=left))
            except Empty:
                return False
            if msg["parent_header"].get("msg_id") == msg_id:
                return True
        return False

    async def _async_kill(self) -> None:
        try:
            await ensure_async(self.km.shutdown_kernel(now=True))
        except Exception as exc:  # already gone: nothing to do
            self.log.warning("could not kill kernel: %s", exc)


# ---------------------------------------------------------------------- feedback
class ClearHiddenTestsAndTracebacks(ClearHiddenTests):
    """Remove hidden tests from feedback: the code, and the tracebacks that quote it."""

    def preprocess_cell(self, cell, resources, cell_index):
        had_hidden = cell.cell_type == "code" and self.begin_test_delimeter in cell.source
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if had_hidden:
            outputs = []
            for out in cell.get("outputs", []):
                if out.output_type == "error":
                    out.traceback = [f"{out.ename}: {out.evalue}" if out.evalue else out.ename]
                elif out.output_type == "stream" and out.name == "stderr":
                    continue  # warnings quote the source line that raised them
                outputs.append(out)
            cell.outputs = outputs
        return cell, resources


def is_graded_test(cell) -> bool:
    """An autograded test cell (a grade cell that is not an answer)."""
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def failure_line(cell) -> str:
    """The first line of a test cell's error output (the diagnosis), or "" if it passed."""
    for out in cell.get("outputs", []):
        if out.output_type == "error":
            text = (out.get("evalue") or "").strip()
            return f"{out.ename}: {text.splitlines()[0]}" if text and out.ename not in ("CheckFailure",) \
                else (text.splitlines()[0] if text else out.ename)
    return ""
