"""Generic checks for assignment test cells.

A test cell calls the student's function through :func:`call` and compares the
answer with :func:`expect_equal` (scalars) or :func:`expect_close` (arrays).  A
failure raises :class:`CheckFailure` whose message teaches:

    conv2d: your output equals true convolution (flipped kernel) ...   <- first line: the diagnosis
      case: x (2, 3, 7, 5), weight (4, 3, 3, 2), stride=2, padding=1
      expected shape (2, 4, 4, 3), got (2, 4, 4, 3)
      expected[0, 0, :3, :3] = ...
      got[0, 0, :3, :3]      = ...

The first line never depends on the random case, so ``course grade report``
can count the most common mistakes.  A known mistake is a :class:`Mistake`:
the wrong answer that mistake produces (or just its shape) and what to say.

The per-assignment modules (``course.checkers.a1_convolution``, ...) build on
these; hidden test cells stay short: draw a case, call one ``check_*``.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

# Code the student must not call from a graded function: the reference
# implementations of the package and PyTorch.
FORBIDDEN = ("course.conv", "course.pool", "torch")


class CheckFailure(AssertionError):
    """A failed check; its message says what, where, and the likely mistake."""


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer.

    ``value``: the answer the mistake produces (compared like the expected one);
    ``shape``: alternatively, only the (wrong) shape it produces;
    ``message``: one line naming the mistake and the fix.
    """

    message: str
    value: Any = None
    shape: tuple | None = None

    def matches(self, got: np.ndarray, rtol: float, atol: float) -> bool:
        if self.value is not None:
            want = np.asarray(self.value)
            return got.shape == want.shape and _close(got, want, rtol, atol)
        return self.shape is not None and tuple(got.shape) == tuple(self.shape)


# --------------------------------------------------------------------- calling
def call(fn: Callable, *args, name: str | None = None, case: str = "",
         forbid: Iterable[str] | None = None, **kwargs):
    """``fn(*args, **kwargs)``, turning every way it can go wrong into a CheckFailure.

    Refuses an answer that calls into ``forbid`` (module names such as the
    package's reference or PyTorch, or single functions), however it was
    imported: the check follows the actual calls (``sys.setprofile``), not the
    names in the student's code.
    """
    name = name or getattr(fn, "__name__", "function")
    if not callable(fn):
        raise CheckFailure(f"{name}: is not a function (got {type(fn).__name__}); "
                           f"run the cell that defines it first")
    args = tuple(_copy(a) for a in args)         # the student may not change our inputs
    kwargs = {k: _copy(v) for k, v in kwargs.items()}
    watcher = _CallWatcher(FORBIDDEN if forbid is None else forbid)
    try:
        with watcher:
            result = fn(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailure(f"{name}: not implemented yet (the stub still raises NotImplementedError)"
                           f"{_case(case)}") from None
    except RecursionError:
        raise CheckFailure(f"{name}: infinite recursion (does it call itself?){_case(case)}") from None
    except Exception as exc:  # the student's bug: report it as a failure of this case
        _refuse_delegation(watcher, name, case)
        raise CheckFailure(f"{name}: raised {type(exc).__name__}: {_first_line(str(exc))}"
                           f"{_case(case)}") from exc
    _refuse_delegation(watcher, name, case)
    return result


def _refuse_delegation(watcher, name: str, case: str) -> None:
    if watcher.calls:
        used = watcher.calls[0]
        what = "PyTorch" if used.startswith("torch") else "the course's reference implementation"
        raise CheckFailure(
            f"{name}: calls {used} ({what}); no points for delegating: implement it with NumPy"
            f"{_case(case)}")


class _CallWatcher:
    """Context manager recording calls into what is forbidden: module names (every
    function in them, Python or C) and single functions (by code object, however
    they were imported or subclassed)."""

    def __init__(self, forbid: Iterable):
        self.codes: dict = {}
        files, prefixes = [], []
        for item in forbid:
            if isinstance(item, str):
                prefixes.append(item)
                path = _module_path(item)
                if path:
                    files.append(path)
            else:
                fn = getattr(item, "__func__", item)
                self.codes[fn.__code__] = f"{_public(fn.__module__)}.{fn.__qualname__}"
        self.files, self.prefixes = tuple(files), tuple(prefixes)
        self.calls: list[str] = []
        self._old = None

    def _profile(self, frame, event, arg):
        if event == "call":
            code = frame.f_code
            if code in self.codes:
                self.calls.append(self.codes[code])
            elif self.files and code.co_filename.startswith(self.files):
                self.calls.append(_qualname(frame))
        elif event == "c_call":
            module = getattr(arg, "__module__", None) or ""
            if self.prefixes and module.startswith(self.prefixes):
                self.calls.append(f"{module}.{getattr(arg, '__name__', '?')}")

    def __enter__(self):
        self._old = sys.getprofile()
        if self.codes or self.files or self.prefixes:
            sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc):
        sys.setprofile(self._old)
        return False


def _module_path(module: str) -> str | None:
    """The file (module) or folder (package) whose code counts as ``module``."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return os.path.join(list(spec.submodule_search_locations)[0], "")
    return spec.origin


#: Packages whose submodules are an implementation detail: messages name the package,
#: as students import it (``course.nn.Linear``, not ``course.nn.layers.Linear``).
PUBLIC_PACKAGES = ("course.nn", "course.data")


def _public(module: str) -> str:
    return next((p for p in PUBLIC_PACKAGES if module.startswith(p + ".")), module)


def _qualname(frame) -> str:
    module = _public(frame.f_globals.get("__name__", "?"))
    code = frame.f_code
    return f"{module}.{getattr(code, 'co_qualname', code.co_name)}"  # Class.method on Python >= 3.11


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


# ------------------------------------------------------------------ comparing
def expect_equal(got, expected, *, name: str, case: str = "", mistakes: Iterable[Mistake] = ()):
    """Scalar answers (ints, tuples): exact equality, with known mistakes named."""
    if got is None:
        raise CheckFailure(f"{name}: returned None (missing `return`?){_case(case)}")
    if isinstance(expected, int) and isinstance(got, float) and not isinstance(got, bool):
        raise CheckFailure(f"{name}: returned a float, expected an int (use // for floor division)"
                           f"{_case(case)}\n"
                           f"  expected {expected!r}, got {got!r}")
    if _same(got, expected):
        return
    for m in mistakes:
        if m.value is not None and _same(got, m.value):
            raise CheckFailure(f"{name}: {m.message}{_case(case)}\n  expected {expected!r}, got {got!r}")
    raise CheckFailure(f"{name}: wrong answer{_case(case)}\n  expected {expected!r}, got {got!r}")


def expect_close(got, expected, *, name: str, case: str = "",
                 mistakes: Iterable[Mistake] | Callable[[], Iterable[Mistake]] = (),
                 rtol: float = 1e-5, atol: float = 1e-6, what: str = "output"):
    """Array answers: shape, then values; the failure names a matching mistake.

    ``mistakes`` may be a function returning them: they are then computed only on failure.
    """
    expected = np.asarray(expected)
    if got is None:
        raise CheckFailure(f"{name}: returned None (missing `return`?){_case(case)}")
    if not isinstance(got, np.ndarray):
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            raise CheckFailure(f"{name}: returned {type(got).__name__}, expected a NumPy array"
                               f"{_case(case)}") from None
    if got.shape == expected.shape and _close(got, expected, rtol, atol):
        return
    summary = None
    for m in (mistakes() if callable(mistakes) else mistakes):
        if m.matches(got, rtol, atol):
            summary = m.message
            break
    if summary is None:
        if got.shape != expected.shape:
            summary = f"wrong {what} shape"
        else:
            summary = f"wrong {what} values"
    lines = [f"{name}: {summary}", f"  case: {case}" if case else None,
             f"  expected shape {expected.shape}, got {got.shape}"]
    if got.shape == expected.shape:
        err = np.abs(got.astype(float) - expected.astype(float))
        err = np.where(np.isnan(err), np.inf, err)
        where = np.unravel_index(int(np.argmax(err)), err.shape) if err.size else ()
        lines.append(f"  largest error {err.max():.3g} at index {tuple(int(i) for i in where)}; "
                     f"{int((err > atol + rtol * np.abs(expected)).sum())} of {err.size} entries differ")
    lines += [f"  expected{_corner_label(expected)} =\n{_excerpt(expected)}",
              f"  got{_corner_label(got)} =\n{_excerpt(got)}"]
    raise CheckFailure("\n".join(line for line in lines if line))


def _close(got, want, rtol, atol) -> bool:
    try:
        return bool(np.allclose(got, want, rtol=rtol, atol=atol))
    except (TypeError, ValueError):
        return False


def _same(a, b) -> bool:
    try:
        if isinstance(a, (int, np.integer)) and isinstance(b, (int, np.integer)):
            return int(a) == int(b)
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return False


def _case(case: str) -> str:
    return f"\n  case: {case}" if case else ""


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


# --------------------------------------------------------------- formatting
def describe(x) -> str:
    """An array's shape, ``(2, 3, 5, 5)``, or the repr of anything else."""
    if isinstance(x, np.ndarray):
        return f"{tuple(x.shape)}"
    return repr(x)


def _corner(a: np.ndarray) -> tuple:
    lead = tuple(0 for _ in range(max(a.ndim - 2, 0)))
    tail = tuple(slice(0, 4) if i == a.ndim - 2 else slice(0, 6) for i in range(max(a.ndim - 2, 0), a.ndim))
    return lead + tail


def _corner_label(a: np.ndarray) -> str:
    """``[0, 0, :4, :6]``: which corner of the array the excerpt shows."""
    if a.ndim == 0:
        return ""
    parts = ["0"] * max(a.ndim - 2, 0) + ([":4"] if a.ndim >= 2 else []) + [":6"]
    return "[" + ", ".join(parts) + "]"


def _excerpt(a: np.ndarray) -> str:
    if a.ndim == 0:
        return "    " + repr(a.item())
    block = np.asarray(a[_corner(a)], dtype=float)
    text = np.array2string(block, precision=3, suppress_small=True, max_line_width=100)
    return "\n".join("    " + line for line in text.splitlines())
