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

# What a student's function may not call while it runs: the whole course package
# (its reference implementations, and the checkers' own helpers) and PyTorch.
# Each check passes an allow-list of what the exercise hands the student.
WATCHED = ("course", "torch")


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

    def is_evidence(self, expected: np.ndarray, rtol: float, atol: float) -> bool:
        """A mistake that gives the right answer on this case tells nothing about it."""
        if self.value is not None:
            want = np.asarray(self.value)
            return not (want.shape == expected.shape and _close(want, expected, rtol, atol))
        return self.shape is not None and tuple(self.shape) != tuple(expected.shape)


# ------------------------------------------------------------ the catalogue
@dataclass(frozen=True)
class Known:
    """One named mistake of a function's catalogue (data, not code in each check).

    ``make(case)`` returns the wrong answer this mistake gives on ``case`` (a dict
    of the call's arguments): an array or scalar, :class:`Shape` for a mistake
    known only by the shape it gives, or None where it does not apply (or
    cannot even run) on this case.
    """

    name: str
    make: Callable[[dict], Any]
    message: str

    def on(self, case: dict) -> Mistake | None:
        try:
            wrong = self.make(case)
        except Exception:  # the mistake cannot run on this case (ValueError of the reference, ...)
            return None
        if wrong is None:
            return None
        if isinstance(wrong, Shape):
            return Mistake(self.message, shape=tuple(wrong.shape))
        return Mistake(self.message, value=wrong)


@dataclass(frozen=True)
class Shape:
    """A wrong answer known only by its shape."""

    shape: tuple


def mistakes_on(catalogue: Iterable[Known], case: dict) -> list[Mistake]:
    """The catalogue's wrong answers for one case (those that apply)."""
    return [m for m in (k.on(case) for k in catalogue) if m is not None]


def single_out(got, expected, mistakes: Iterable[Mistake], rtol: float, atol: float,
               probe: Callable[[], tuple] | None = None) -> tuple[str | None, list[str]]:
    """The one mistake the evidence singles out, or None, and every mistake that matched.

    A mistake is named only when its wrong answer differs from the right one on
    this case, equals the student's, and no other known mistake does the same.
    Where several match, ``probe()`` (another case: ``(got, expected,
    mistakes)``) decides between them; still several: no diagnosis.
    """
    got = np.asarray(got)
    expected = np.asarray(expected)
    hits = [m for m in mistakes if m.is_evidence(expected, rtol, atol) and m.matches(got, rtol, atol)]
    messages = list(dict.fromkeys(m.message for m in hits))
    if len(messages) <= 1:
        return (messages[0] if messages else None), messages
    if probe is not None:
        try:
            got2, expected2, mistakes2 = probe()
        except CheckFailure:
            return None, messages
        got2, expected2 = np.asarray(got2), np.asarray(expected2)
        still = [m.message for m in mistakes2 if m.message in messages
                 and m.is_evidence(expected2, rtol, atol) and m.matches(got2, rtol, atol)]
        still = list(dict.fromkeys(still))
        if len(still) == 1:
            return still[0], messages
    return None, messages


# --------------------------------------------------------------------- calling
def call(fn: Callable, *args, name: str | None = None, case: str = "",
         allow: Iterable = (), forbid: Iterable = (), harness: bool = False, watch: bool = True, **kwargs):
    """``fn(*args, **kwargs)``, turning every way it can go wrong into a CheckFailure.

    While ``fn`` runs, a call into any module of ``WATCHED`` (the ``course``
    package and PyTorch) is refused, except into ``allow``: module names,
    functions or classes the exercise hands the student (``pad2d``,
    ``course.nn.module``'s ``save_for_backward`` ...).  What an allowed function
    calls inside the package is its own business; what it calls back into the
    student's code is watched again (``watch=False``: not at all; for long runs
    guarded by :class:`tripwires`).  ``forbid`` is refused even inside allowed
    code (a reference ``backward`` reached through ``gradcheck``).
    ``harness=True``: ``fn`` is the checker's own glue (a lambda around the
    student's method), not the student's answer.  The watcher follows the
    actual calls (``sys.setprofile``), however the student imported or renamed
    what they call.
    """
    name = name or getattr(fn, "__name__", "function")
    if not callable(fn):
        raise CheckFailure(f"{name}: is not a function (got {type(fn).__name__}); "
                           f"run the cell that defines it first")
    args = tuple(_copy(a) for a in args)         # the student may not change our inputs
    kwargs = {k: _copy(v) for k, v in kwargs.items()}
    watcher = _CallWatcher(WATCHED if watch else (), allow, forbid, opaque=harness)
    watcher.active = watch
    if not harness:
        code = getattr(getattr(fn, "__func__", fn), "__code__", None)
        if code is not None and watcher.kind(code) in ("watched", "forbid"):
            used = f"{_public(getattr(fn, '__module__', '?'))}.{getattr(fn, '__qualname__', name)}"
            raise CheckFailure(f"{name}: is {used} ({_whose(used)}), not your own code; no points for "
                               f"delegating: implement it with NumPy{_case(case)}")
    try:
        with watcher:
            result = fn(*args, **kwargs)
    except NotImplementedError as exc:
        _refuse_delegation(watcher, name, case)
        helper = _failing_helper(exc, fn)
        if helper:
            raise CheckFailure(f"{name}: fails because your {helper} is not implemented yet (its stub still "
                               f"raises NotImplementedError): write {helper} first{_case(case)}") from None
        raise CheckFailure(f"{name}: not implemented yet (the stub still raises NotImplementedError)"
                           f"{_case(case)}") from None
    except RecursionError:
        raise CheckFailure(f"{name}: infinite recursion (does it call itself?){_case(case)}") from None
    except CheckFailure:
        raise
    except Exception as exc:  # the student's bug: report it as a failure of this case
        _refuse_delegation(watcher, name, case)
        helper = _failing_helper(exc, fn)
        if helper:
            raise CheckFailure(f"{name}: fails because your {helper} raises {type(exc).__name__}: "
                               f"{_first_line(str(exc))} (fix {helper} first: its own test says more)"
                               f"{_case(case)}") from exc
        raise CheckFailure(f"{name}: raised {type(exc).__name__}: {_first_line(str(exc))}"
                           f"{_case(case)}") from exc
    _refuse_delegation(watcher, name, case)
    return result


def _failing_helper(exc: BaseException, fn) -> str | None:
    """The student's OTHER function (a helper such as pad2d) in which ``exc`` was raised, if any."""
    own = getattr(getattr(fn, "__func__", fn), "__code__", None)
    last = None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if _is_library(code.co_filename):
            pass
        else:
            last = code
        tb = tb.tb_next
    if last is None or last is own or own is None or last.co_name in ("<lambda>", "<module>"):
        return None
    glob = getattr(getattr(fn, "__func__", fn), "__globals__", {})
    helper = glob.get(last.co_name)
    if getattr(helper, "__code__", None) is last:
        return last.co_name
    return None


def _whose(used: str) -> str:
    if used.startswith("torch"):
        return "PyTorch"
    if used.startswith("course.checkers"):
        return "the checker's own code"
    return "the course's own code"


def _refuse_delegation(watcher, name: str, case: str) -> None:
    if watcher.calls:
        used = watcher.calls[0]
        what = "PyTorch" if used.startswith("torch") else _whose(used)
        if what == "the course's own code":
            what = "the course's reference implementation"
        allowed = f" (from the course you may call only {watcher.allowed_names})" if watcher.allowed_names else ""
        raise CheckFailure(
            f"{name}: calls {used} ({what}); no points for delegating: implement it with NumPy"
            f"{allowed}{_case(case)}")


def _library_roots() -> tuple[str, ...]:
    import sysconfig

    roots = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    for mod in ("numpy", "course"):
        path = _module_path(mod)
        if path:
            roots.add(os.path.dirname(path.rstrip(os.sep)) if mod == "numpy" else path)
    return tuple(os.path.join(r, "") if not r.endswith(os.sep) else r for r in roots if r)


_LIBRARY: tuple[str, ...] | None = None


def _is_library(filename: str) -> bool:
    """Code that is not the student's: the standard library, installed packages, the course."""
    global _LIBRARY
    if _LIBRARY is None:
        _LIBRARY = _library_roots()
    return filename.startswith(_LIBRARY) or filename.startswith("<frozen")


class _CallWatcher:
    """Context manager recording calls into what is watched (module names: every
    function in them, Python or C) unless allowed (module names, functions,
    classes); ``forbid``: refused even from inside allowed code.

    Two modes: *watching* (the student's code runs: a call into the watched
    package is recorded unless allowed) and *opaque* (allowed library code or
    the checker's harness runs: only ``forbid`` is recorded, and a call back
    into the student's code switches to watching until it returns).
    """

    def __init__(self, watched: Iterable[str], allow: Iterable = (), forbid: Iterable = (), opaque: bool = False):
        self.watched_files, self.watched_prefixes = _files_and_prefixes(watched)
        self.allow_codes, self.allow_files, self.allow_prefixes = self._split(allow)
        self.forbid_codes, self.forbid_files, self.forbid_prefixes = self._split(forbid)
        names = []
        for item in allow:
            names.append(item if isinstance(item, str) else getattr(item, "__name__", repr(item)))
        self.allowed_names = ", ".join(names)
        self.calls: list[str] = []
        self._kinds: dict = {}
        self._ckinds: dict = {}
        self._stack: list = []
        self._opaque = self._start = opaque
        self._old = None
        self._kinds[_CallWatcher.__exit__.__code__] = "library"    # leaving the with block

    @staticmethod
    def _split(items):
        codes: dict = {}
        mods = []
        for item in items:
            if isinstance(item, str):
                mods.append(item)
            elif isinstance(item, type):
                for cls in item.__mro__:
                    if cls is object:
                        continue
                    for attr in vars(cls).values():
                        for f in (attr, getattr(attr, "fget", None), getattr(attr, "__func__", None)):
                            if getattr(f, "__code__", None) is not None:
                                codes[f.__code__] = f"{_public(f.__module__)}.{f.__qualname__}"
            else:
                fn = getattr(item, "__func__", item)
                if getattr(fn, "__code__", None) is not None:
                    codes[fn.__code__] = f"{_public(fn.__module__)}.{fn.__qualname__}"
        files, prefixes = _files_and_prefixes(mods)
        return codes, files, prefixes

    def kind(self, code) -> str:
        k = self._kinds.get(code)
        if k is None:
            f = code.co_filename
            if code in self.forbid_codes or (self.forbid_files and f.startswith(self.forbid_files)):
                k = "forbid"
            elif code in self.allow_codes or (self.allow_files and f.startswith(self.allow_files)):
                k = "allow"
            elif self.watched_files and f.startswith(self.watched_files):
                k = "watched"
            elif _is_library(f):
                k = "library"
            else:
                k = "student"
            self._kinds[code] = k
        return k

    def _name(self, frame) -> str:
        code = frame.f_code
        return self.forbid_codes.get(code) or self.allow_codes.get(code) or _qualname(frame)

    def _profile(self, frame, event, arg):
        if event == "c_call":
            if not self._opaque:
                bad = self._ckinds.get(arg)
                if bad is None:
                    module = getattr(arg, "__module__", None) or ""
                    bad = self._ckinds[arg] = bool(module.startswith(self.watched_prefixes)
                                                   and not module.startswith(self.allow_prefixes or ("\0",)))
                if bad:
                    self.calls.append(f"{getattr(arg, '__module__', '?')}.{getattr(arg, '__name__', '?')}")
            return
        if event == "call":
            k = self._kinds.get(frame.f_code) or self.kind(frame.f_code)
            if self._opaque:
                if k == "forbid":
                    self.calls.append(self._name(frame))
                elif k == "student":
                    self._stack.append(frame)
                    self._opaque = False
            elif k in ("watched", "forbid"):
                self.calls.append(self._name(frame))
                self._stack.append(frame)
                self._opaque = True
            elif k == "allow":
                self._stack.append(frame)
                self._opaque = True
        elif event == "return":
            if self._stack and self._stack[-1] is frame:
                self._stack.pop()
                self._opaque = not self._opaque

    def __enter__(self):
        self._old = sys.getprofile()
        self._stack, self._opaque = [], self._start
        if getattr(self, "active", True):
            sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc):
        sys.setprofile(self._old)
        return False


def _files_and_prefixes(modules: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    files, prefixes = [], []
    for m in modules:
        prefixes.append(m)
        path = _module_path(m)
        if path:
            files.append(path)
    return tuple(files), tuple(prefixes)


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
def expect_equal(got, expected, *, name: str, case: str = "", mistakes: Iterable[Mistake] = (),
                 probe: Callable[[], Iterable[tuple]] | None = None):
    """Scalar answers (ints, tuples): exact equality, with the known mistake the evidence singles out.

    ``probe()``: more cases ``(got, expected, mistakes)`` to decide between look-alike mistakes.
    """
    if got is None:
        raise CheckFailure(f"{name}: returned None (missing `return`?){_case(case)}")
    if isinstance(expected, int) and isinstance(got, float) and not isinstance(got, bool):
        raise CheckFailure(f"{name}: returned a float, expected an int (use // for floor division)"
                           f"{_case(case)}\n"
                           f"  expected {expected!r}, got {got!r}")
    if _same(got, expected):
        return
    hits = list(dict.fromkeys(m.message for m in mistakes if m.value is not None
                              and not _same(m.value, expected) and _same(got, m.value)))
    if len(hits) > 1 and probe is not None:
        try:
            for got2, expected2, mistakes2 in probe():
                same = {m.message for m in mistakes2 if m.value is not None
                        and not _same(m.value, expected2) and _same(got2, m.value)}
                differs = _same(got2, expected2) is False
                hits = [h for h in hits if h in same or not differs]
        except CheckFailure:
            pass
    if len(hits) == 1:      # named only when the evidence singles it out
        raise CheckFailure(f"{name}: {hits[0]}{_case(case)}\n  expected {expected!r}, got {got!r}")
    raise CheckFailure(f"{name}: wrong answer{_case(case)}\n  expected {expected!r}, got {got!r}")


def expect_close(got, expected, *, name: str, case: str = "",
                 mistakes: Iterable[Mistake] | Callable[[], Iterable[Mistake]] = (),
                 rtol: float = 1e-5, atol: float = 1e-6, what: str = "output",
                 probe: Callable[[], tuple] | None = None, blame: Callable[[], str | None] | None = None):
    """Array answers: shape, then values; the failure names a mistake the evidence singles out.

    ``mistakes`` may be a function returning them: they are then computed only on failure.
    ``probe``: see :func:`single_out`.  ``blame()``: on failure, a first line that puts the
    blame on a broken helper of the student's (``conv2d: ... because your pad2d ...``), or None.
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
    summary = blame() if blame is not None else None
    candidates: list[str] = []
    if summary is None:
        summary, candidates = single_out(got, expected, mistakes() if callable(mistakes) else mistakes,
                                         rtol, atol, probe)
    if summary is None:
        summary = f"wrong {what} shape" if got.shape != expected.shape else f"wrong {what} values"
    lines = [f"{name}: {summary}", f"  case: {case}" if case else None,
             f"  expected shape {expected.shape}, got {got.shape}"]
    if len(candidates) > 1:
        lines.append("  (more than one known mistake gives this answer here, so none is named: "
                     + "; ".join(c.split(":")[0] for c in candidates) + ")")
    where = None
    if got.shape == expected.shape and got.size:
        err = np.abs(got.astype(float) - expected.astype(float))
        err = np.where(np.isnan(err), np.inf, err)
        where = np.unravel_index(int(np.argmax(err)), err.shape)
        lines.append(f"  largest error {err.max():.3g} at index {tuple(int(i) for i in where)}; "
                     f"{int((err > atol + rtol * np.abs(expected)).sum())} of {err.size} entries differ")
    label, block = _window(expected, where)
    lines.append(f"  expected{label} =\n{_show(expected[block] if block else expected)}")
    label_got, block_got = (label, block) if where is not None else _window(got, None)
    lines.append(f"  got{label_got} =\n{_show(got[block_got] if block_got else got)}")
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


def _window(a: np.ndarray, where, rows: int = 4, cols: int = 6) -> tuple[str, tuple]:
    """The excerpt to show: the last two axes around ``where`` (the largest error; default the
    corner), the leading axes at ``where``'s indices; and its label, ``[1, 0, 2:6, 0:6]``."""
    if a.ndim == 0:
        return "", ()
    where = tuple(int(i) for i in where) if where is not None else (0,) * a.ndim
    lead = where[:max(a.ndim - 2, 0)]
    spans = []
    for axis, size in zip(range(len(lead), a.ndim), (rows, cols)[-(a.ndim - len(lead)):]):
        n = a.shape[axis]
        start = min(max(where[axis] - size // 2, 0), max(n - size, 0))
        spans.append((start, min(start + size, n)))
    block = tuple(lead) + tuple(slice(s, e) for s, e in spans)
    label = "[" + ", ".join([str(i) for i in lead] + [f"{s}:{e}" for s, e in spans]) + "]"
    return label, block


def _show(block) -> str:
    block = np.asarray(block, dtype=float)
    if block.ndim == 0:
        return "    " + repr(block.item())
    text = np.array2string(block, precision=3, suppress_small=True, max_line_width=100)
    return "\n".join("    " + line for line in text.splitlines())


# ------------------------------------------------------------- vectorization
def python_lines(fn, *args, **kwargs) -> int | None:
    """How many lines of the student's Python code run during ``fn(*args, **kwargs)``
    (library code not counted); None if it raises."""
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return local

    def global_(frame, event, arg):
        if event == "call" and not _is_library(frame.f_code.co_filename):
            return local
        return None

    old = sys.gettrace()
    sys.settrace(global_)
    try:
        fn(*args, **kwargs)
    except Exception:
        return None
    finally:
        sys.settrace(old)
    return count


def expect_vectorized(fn, *, name: str, variants: dict, allowed: str = "the kernel offsets"):
    """Refuse Python loops over the axes the exercise asks to vectorize.

    ``variants``: ``{axis description: (small_args, large_args)}``, two calls that differ only
    along that axis (``"the batch N": ((x1, w), (x4, w))``).  A vectorized function runs the
    same number of Python lines on both; a loop over that axis runs more on the large one.
    The count is of executed lines, not seconds, so the check is deterministic.
    """
    for axis, (small, large) in variants.items():
        a, b = python_lines(fn, *small), python_lines(fn, *large)
        if a is None or b is None:
            continue
        if b > 1.25 * a + 4:
            raise CheckFailure(
                f"{name}: not vectorized: a Python loop runs over {axis} ({a} lines of your Python ran on "
                f"the small case, {b} on the larger one). Python runs each loop step one at a time while "
                f"NumPy does a whole array in compiled code, so a real batch becomes 100x-1000x slower "
                f"(lecture 1, section 3): loop at most over {allowed}, and let array operations do N, "
                f"the channels/filters and the pixels\n"
                f"  case: same call with {axis} made larger")




# ---------------------------------------------------------------- tripwires
TRIPWIRE = "course-tripwire: "


class tripwires:
    """Context manager: the given functions (and every function of the given classes and modules)
    raise ``RuntimeError("course-tripwire: <name>")`` while it is active, however they were imported.

    For long runs (training a network for seconds) where following every call (:func:`call`)
    would double the time: the function objects keep their identity, only their code is swapped
    for a raise, and restored on exit.  :func:`tripped` reads the name back from the failure.
    """

    def __init__(self, items: Iterable):
        self.functions = []
        seen = set()
        for item in items:
            for fn in _functions_of(item):
                if id(fn) not in seen and not fn.__code__.co_freevars:
                    seen.add(id(fn))
                    self.functions.append(fn)
        self._saved: list = []

    def __enter__(self):
        for fn in self.functions:
            name = f"{_public(fn.__module__)}.{fn.__qualname__}"
            scope: dict = {}
            exec(f"def _trip(*args, **kwargs):\n    raise RuntimeError({TRIPWIRE + name!r})", scope)  # noqa: S102
            self._saved.append((fn, fn.__code__))
            fn.__code__ = scope["_trip"].__code__
        return self

    def __exit__(self, *exc):
        for fn, code in self._saved:
            fn.__code__ = code
        self._saved = []
        return False


def _functions_of(item):
    import types

    if isinstance(item, str):
        module = sys.modules.get(item)
        if module is None:
            return
        for value in vars(module).values():
            if isinstance(value, types.FunctionType) and value.__module__ == item:
                yield value
            elif isinstance(value, type) and value.__module__ == item:
                yield from _functions_of(value)
    elif isinstance(item, type):
        for value in vars(item).values():
            value = getattr(value, "__func__", value)
            if isinstance(value, types.FunctionType) and value.__qualname__.startswith(item.__qualname__ + "."):
                yield value      # defined in the class (not a helper it holds, such as pool.max_pool2d)
    else:
        fn = getattr(item, "__func__", item)
        if isinstance(fn, types.FunctionType):
            yield fn


def tripped(failure: BaseException) -> str | None:
    """The name of the tripwire that made this failure, if one did."""
    cause = failure
    while cause is not None:
        if isinstance(cause, RuntimeError) and str(cause).startswith(TRIPWIRE):
            return str(cause)[len(TRIPWIRE):]
        cause = cause.__cause__
    return None
