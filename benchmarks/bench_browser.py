"""Browser latency of the explorers: from a key press to the new pixels in the page.

    make bench-browser        # or: .venv/bin/python benchmarks/bench_browser.py [-n 30]

A real JupyterLab server and Debian's headless chromium (as in the browser
tests) open a generated notebook that shows one explorer per case. For each
sample the page records, on one clock (``performance.now()``):

    key    the first input event on the control: keydown on a slider handle,
           or the change of the preset dropdown (chosen with the mouse:
           JupyterLab takes arrow keys on a closed <select> for itself,
           ipywidgets issue #3912)
    src    the output <img> gets its new PNG (a MutationObserver on ``src``)
    paint  that PNG is decoded and a frame has been painted with it
           (``img.decode()``, then requestAnimationFrame + setTimeout 0)

and the kernel records how long the widget's callback took (``timings`` of the
explorer: compute, PNG encode, total). So the latency splits into
python (callback) + transport (frontend -> kernel -> frontend, ``src - key - python``)
+ decode/paint (``paint - src``).

Medians are merged into ``benchmarks/results.json`` (entries of the same name
are replaced, the others kept): ``{"name", "median_ms", "n", "target_ms", ...}``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

from labserver import CHROMIUM, LabServer, chromium_missing_message  # noqa: E402

RESULTS = REPO / "benchmarks" / "results.json"
TARGET_MS = 100.0

# name, explorer class, constructor arguments, image selector, control selector,
# the two keys (or dropdown values) that alternate, shape for the record
CASES = [
    dict(name="browser_kernel_explorer_preset_512", cls="KernelExplorer", args="",
         img="img.course-output-image", control=".course-preset select",
         values=("sobel_y", "sobel_x"), shape="512x512 photo, 3x3 preset sobel_x <-> sobel_y"),
    dict(name="browser_kernel_explorer_stride_512", cls="KernelExplorer", args="",
         img="img.course-output-image", control=".course-stride [role=slider]",
         keys=("ArrowRight", "ArrowLeft"), shape="512x512 photo, stride 1 <-> 2"),
    dict(name="browser_conv_arithmetic_explorer_stride", cls="ConvArithmeticExplorer", args="",
         img="img.course-output-image", control=".course-stride [role=slider]",
         keys=("ArrowRight", "ArrowLeft"), shape="n=7 k=3 p=1, stride 2 <-> 3"),
    dict(name="browser_pooling_explorer_stride", cls="PoolingExplorer", args="",
         img="img.course-output-image", control=".course-stride [role=slider]",
         keys=("ArrowLeft", "ArrowRight"), shape="8x8 grid, max 2x2, stride 2 <-> 1"),
    dict(name="browser_sgd_explorer_lr", cls="SGDExplorer", args="steps=60",
         img="img.course-view", control=".course-lr [role=slider]",
         keys=("ArrowRight", "ArrowLeft"), shape="lr 0.1 <-> 0.112, batch 1, 60 steps"),
]

# Installed on the explorer's root: timestamps of keydown, src change and paint.
_INSTRUMENT = """([root, imgSel]) => {
  const img = root.querySelector(imgSel);
  const st = {key: null, armed: false, samples: []};
  root.__latency = st;
  const start = () => { if (st.armed) { st.key = performance.now(); st.armed = false; } };
  for (const type of ['keydown', 'input', 'change']) root.addEventListener(type, start, true);
  new MutationObserver(() => {
    const src = performance.now(), key = st.key;
    img.decode().catch(() => null).then(() => requestAnimationFrame(() => setTimeout(() => {
      st.samples.push({key: key, src: src, paint: performance.now()});
    }, 0)));
  }).observe(img, {attributes: true, attributeFilter: ['src']});
}"""

_SAMPLES = "(root) => root.__latency.samples.length"
_LAST = "(root) => root.__latency.samples[root.__latency.samples.length - 1]"
_PNG_BYTES = """async ([root, imgSel]) => {
  const img = root.querySelector(imgSel);
  return (await (await fetch(img.src)).arrayBuffer()).byteLength;
}"""

# Run code in the notebook's kernel, return its stdout.
_EXECUTE = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code: code, silent: false, store_history: false});
  let out = '';
  future.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') out += msg.content.text; };
  await future.done;
  return out;
}"""


def notebook(cases) -> dict:
    """One cell per case: the explorer, and a log of its callback timings per redraw."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    classes = sorted({c["cls"] for c in cases})
    cells = [nbformat.v4.new_code_cell(
        f"import json\nfrom course.widgets import {', '.join(classes)}\n"
        "def logged(explorer):\n"
        "    \"\"\"Keep the callback timings of every redraw (instrumentation only).\"\"\"\n"
        "    explorer.timing_log = []\n"
        "    explorer._status.observe(lambda change: explorer.timing_log.append(dict(explorer.timings)), 'value')\n"
        "    return explorer\n"
        "explorers = {}")]
    for i, c in enumerate(cases):
        cells.append(nbformat.v4.new_code_cell(
            f"explorers[{c['name']!r}] = logged({c['cls']}({c['args']}))\n"
            f"explorers[{c['name']!r}]"))
    nb.cells = cells
    return nb


def measure(page, case: dict, index: int, n: int, warmup: int) -> dict:
    root = page.locator(".course-explorer").nth(index)
    root.scroll_into_view_if_needed()
    handle = root.element_handle()
    page.evaluate(_INSTRUMENT, [handle, case["img"]])
    control = root.locator(case["control"]).first
    control.focus()
    samples = []
    for i in range(warmup + n):
        before = root.evaluate(_SAMPLES)
        status = root.locator(".course-status").inner_text()
        root.evaluate("(root) => { root.__latency.armed = true; }")
        if "values" in case:
            control.select_option(case["values"][i % 2])
        else:
            control.press(case["keys"][i % 2])
        page.wait_for_function(
            """([root, n, status]) => root.__latency.samples.length > n
                 && root.querySelector('.course-status').textContent !== status""",
            arg=[handle, before, status], timeout=30_000, polling="raf")
        if i >= warmup:
            samples.append(root.evaluate(_LAST))
        time.sleep(0.15)  # let the kernel go idle: one change at a time
    name = case["name"]
    log = json.loads(page.evaluate(
        _EXECUTE, f"print(json.dumps(explorers[{name!r}].timing_log[-{n}:]))"))
    png_bytes = page.evaluate(_PNG_BYTES, [handle, case["img"]])
    return summarize(case, samples, log, png_bytes)


def summarize(case, samples, log, png_bytes) -> dict:
    med = statistics.median
    total = [s["paint"] - s["key"] for s in samples]
    to_src = [s["src"] - s["key"] for s in samples]
    paint = [s["paint"] - s["src"] for s in samples]
    python = [t.get("total_ms", float("nan")) for t in log]
    out = {
        "name": case["name"], "shape": case["shape"], "median_ms": round(med(total), 1),
        "n": len(total), "target_ms": TARGET_MS,
        "p90_ms": round(sorted(total)[int(0.9 * (len(total) - 1))], 1),
        "key_to_src_ms": round(med(to_src), 1), "decode_paint_ms": round(med(paint), 1),
        "python_callback_ms": round(med(python), 1),
        "transport_ms": round(med(to_src) - med(python), 1),
        "png_bytes": png_bytes,
    }
    for part in ("compute_ms", "encode_ms"):
        values = [t[part] for t in log if part in t]
        if values:
            out[f"python_{part}"] = round(med(values), 1)
    return out


def merge_results(new: list[dict], path: Path = RESULTS) -> None:
    """Replace entries of the same name in results.json, keep the others."""
    old = json.loads(path.read_text()) if path.exists() else []
    names = {r["name"] for r in new}
    path.write_text(json.dumps([r for r in old if r.get("name") not in names] + new, indent=2)
                    + "\n")


def chromium_version() -> str:
    try:
        out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=20)
        return out.stdout.strip()
    except OSError:
        return "unknown"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=25, help="samples per case (default 25)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--only", help="run the cases whose name contains this")
    parser.add_argument("--no-write", action="store_true", help="print, do not write results")
    args = parser.parse_args(argv)
    missing = chromium_missing_message()
    if missing:
        print(f"bench-browser: {missing}", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    from course.explore import find_explorers

    available = find_explorers()
    cases = [c for c in CASES if c["cls"] in available and (not args.only or args.only in c["name"])]
    browser_name = chromium_version()
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        import nbformat

        nbformat.write(notebook(cases), str(root / "latency.ipynb"))
        server = LabServer(root, Path(tmp) / "work").start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM)
                page = browser.new_page(viewport={"width": 1400, "height": 2000})
                import labpage

                labpage.open_notebook(page, server.url(), "latency.ipynb")
                labpage.run_all(page, "latency.ipynb")
                problems = labpage.output_problems(page)
                if problems:
                    raise RuntimeError("latency notebook failed:\n" + "\n".join(problems))
                results = []
                for index, case in enumerate(cases):  # cell i shows explorer i
                    page.locator(".course-explorer").nth(index).locator(
                        ".course-status").wait_for()
                    r = measure(page, case, index, args.n, args.warmup)
                    r.update(browser=browser_name, cpus=os.cpu_count(),
                             python=platform.python_version(),
                             load_1min=round(os.getloadavg()[0], 2))
                    results.append(r)
                    print(f"{r['name']:42s} median {r['median_ms']:7.1f} ms (n={r['n']}, "
                          f"p90 {r['p90_ms']:.0f}) = python {r['python_callback_ms']:.1f} "
                          f"+ transport {r['transport_ms']:.1f} + decode/paint "
                          f"{r['decode_paint_ms']:.1f}; png {r['png_bytes'] / 1024:.0f} kB",
                          flush=True)
                browser.close()
        finally:
            server.stop()
    if not args.no_write:
        merge_results(results)
        print(f"wrote {len(results)} entries to {RESULTS.relative_to(REPO)}")
    slow = [r for r in results if r["median_ms"] > r["target_ms"]]
    for r in slow:
        print(f"over target: {r['name']} median {r['median_ms']} ms > {r['target_ms']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
