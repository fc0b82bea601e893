"""Browser latency of the explorers: from a control change to the new pixels in the
page, and from a mouse move to the hover read-out.

    make bench-browser        # or: .venv/bin/python benchmarks/bench_browser.py [-n 30]

A real JupyterLab server and Debian's headless chromium (as in the browser
tests, with the course's ``NoDelayConnection``) open, per case, a generated
notebook that shows that one explorer (as a lecture shows one on screen), in a
1400x900 viewport (a laptop's), with the mouse resting on the control; its
kernel is shut down before the next case. For each step sample the page records,
on one clock (``performance.now()``):

    key    the first input event on the control: keydown on a slider handle,
           pointerdown on a button, or the change of a dropdown (chosen with
           the mouse: JupyterLab takes arrow keys on a closed <select> for
           itself, ipywidgets issue #3912)
    draw   the canvas view has drawn the new pixels (its ``data-frame`` changes,
           a MutationObserver)
    paint  the frame that shows them has been produced: requestAnimationFrame, then a
           MessageChannel message posted from it, which runs as soon as that frame's
           rendering task ends (a setTimeout 0 waits behind every task already
           queued, such as the texts that arrive after the pixels, so it also
           measured their processing: up to 15 ms on a step of the kernel explorer)

and the kernel records how long the widget's callback took (``timings`` of the
explorer). So the step splits into python (callback) + transport (frontend ->
kernel -> frontend, ``draw - key - python``; the page's putImageData is in it,
~1-3 ms) + paint (``paint - draw``). Bytes per frame: what travelled for the
main view's image (packed for a drawn picture, see ``course.widgets.canvas.encode``),
next to the image's own size. Hover: from the mousemove event (its ``timeStamp``) to the read-out
written and the outline drawn (``hover_ms``), and to the next painted frame
(``hover_paint_ms``), over points on the picture where a read-out exists.

The 1-minute load average (``os.getloadavg``) is recorded before and after each
case, next to its figures: these machines are shared.

``kernel_websocket_burst_second_message``: with a Python websocket client (no
browser), how late the second small message of a kernel's burst arrives through
Jupyter Server's own connection and through ``NoDelayConnection``, in one run.

Results are merged into ``benchmarks/results.json`` (entries of the same name
are replaced, the others kept): ``{"name", "median_ms", "p90_ms", "n",
"target_ms", "bytes_per_frame", "hover_median_ms", "hover_p90_ms",
"hover_target_ms", "load_1min_before", "load_1min_after", ...}``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

import labpage  # noqa: E402
from labserver import CHROMIUM, LabServer, chromium_missing_message  # noqa: E402

RESULTS = REPO / "benchmarks" / "results.json"
TARGET_MS = 50.0        # control change -> new pixels, median
HOVER_TARGET_MS = 20.0  # mouse move -> read-out, median

# name, explorer class, constructor arguments, canvas view selector, control selector,
# the two keys (or dropdown values, or button texts) that alternate, shape for the record;
# hover: the part of the picture (fractions of width and height: x0, x1, y0, y1) to move
# over, or the name of the grid in the view's hover parameters ("out_grid", "grid": read
# from a twin of the explorer)
CASES = [
    dict(name="browser_kernel_explorer_preset_512", cls="KernelExplorer", args="",
         view=".course-output-image", control=".course-preset select",
         values=("sobel_y", "sobel_x"), shape="512x512 photo, 3x3 preset sobel_x <-> sobel_y",
         hover=(0.02, 0.98, 0.02, 0.98)),
    dict(name="browser_kernel_explorer_stride_512", cls="KernelExplorer", args="",
         view=".course-output-image", control=".course-stride [role=slider]",
         keys=("ArrowRight", "ArrowLeft"), shape="512x512 photo, stride 1 <-> 2"),
    dict(name="browser_conv_arithmetic_explorer_stride", cls="ConvArithmeticExplorer", args="",
         view=".course-output-image", control=".course-stride [role=slider]",
         keys=("ArrowRight", "ArrowLeft"), shape="n=7 k=3 p=1, stride 2 <-> 3",
         hover="out_grid"),
    dict(name="browser_pooling_explorer_stride", cls="PoolingExplorer", args="",
         view=".course-output-image", control=".course-stride [role=slider]",
         keys=("ArrowLeft", "ArrowRight"), shape="8x8 grid, max 2x2, stride 2 <-> 1",
         hover="out_grid"),
    dict(name="browser_sgd_explorer_lr", cls="SGDExplorer", args="steps=60",
         view=".course-view", control=".course-lr [role=slider]",
         keys=("ArrowRight", "ArrowLeft"), shape="lr 0.1 <-> 0.112, batch 1, 60 steps"),
    dict(name="browser_embedding_explorer_metric", cls="EmbeddingExplorer", args="",
         view=".course-output-image", control=".course-metric button",
         clicks=("euclidean", "cosine"), shape="8 neighbours of 'music', cosine <-> euclidean"),
    dict(name="browser_ngram_sampler_explorer_n", cls="NgramSamplerExplorer", args="",
         view=".course-output-image", control=".course-n [role=slider]",
         keys=("ArrowRight", "ArrowLeft"), shape="the die after 'the', n 2 <-> 3"),
    dict(name="browser_rnn_unroll_explorer_step", cls="RNNUnrollExplorer", args="",
         view=".course-view", control=".course-output-step [role=slider]",
         keys=("ArrowRight", "ArrowLeft"), shape="T=6, 1 layer, output step 2 <-> 3"),
    dict(name="browser_gradient_flow_explorer_scale", cls="GradientFlowExplorer", args="",
         view=".course-view", control=".course-scale [role=slider]",
         keys=("ArrowRight", "ArrowLeft"), shape="vanilla RNN, 50 steps, weight scale 0.9 <-> 1.0"),
    dict(name="browser_lstm_gate_explorer_unit", cls="LSTMGateExplorer", args="",
         view=".course-view", control=".course-unit [role=slider]",
         keys=("ArrowRight", "ArrowLeft"), shape="cell state c over 40 characters, unit 0 <-> 1",
         hover="grid"),
    dict(name="browser_attention_explorer_d_k", cls="AttentionExplorer", args="",
         view=".course-output-image", control=".course-d-k [role=slider]",
         keys=("ArrowRight", "ArrowLeft"), shape="10 words, d_k 8 <-> 9, scaled",
         hover="grid"),
    dict(name="browser_attention_head_explorer_head", cls="AttentionHeadExplorer", args="",
         view=".course-output-image", control=".course-head select",
         values=("1", "0"), shape="tiny Transformer LM, layer 0, head 0 <-> 1", hover="grid"),
]

# Installed on the explorer's root: timestamps of the input event, the draw and the paint,
# and of each hover read-out (after the view's own mousemove handler) and its paint.
_INSTRUMENT = """([root, viewSel]) => {
  const view = root.querySelector(viewSel + '.course-canvas-view');
  const canvas = view.querySelector('canvas.course-canvas');
  const readout = view.querySelector('.course-hover');
  const st = {key: null, armed: false, samples: [], hovers: []};
  root.__latency = st;
  // after the next frame: rAF runs at the start of a frame, a message posted from it
  // runs right after that frame's rendering task
  const afterFrame = (fn) => requestAnimationFrame(() => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => fn();
    ch.port2.postMessage(0);
  });
  const start = () => { if (st.armed) { st.key = performance.now(); st.armed = false; } };
  for (const type of ['keydown', 'pointerdown', 'input', 'change']) root.addEventListener(type, start, true);
  new MutationObserver(() => {
    const draw = performance.now(), key = st.key, bytes = +view.dataset.sent,
          image = +view.dataset.bytes;
    afterFrame(() => st.samples.push({key: key, draw: draw, paint: performance.now(), bytes: bytes,
                                      image: image}));
  }).observe(view, {attributes: true, attributeFilter: ['data-frame']});
  canvas.addEventListener('mousemove', (e) => {
    const done = performance.now(), ok = readout.textContent.length > 0;
    afterFrame(() => st.hovers.push({event: e.timeStamp, done: done, paint: performance.now(), ok: ok}));
  });
}"""

_SAMPLES = "(root) => root.__latency.samples.length"
_LAST = "(root) => root.__latency.samples[root.__latency.samples.length - 1]"
_HOVERS = "(root) => root.__latency.hovers"

_SHUTDOWN = "() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()"


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
    root.evaluate("(r) => r.scrollIntoView({block: 'center'})")
    handle = root.element_handle()
    page.evaluate(_INSTRUMENT, [handle, case["view"]])
    load_before = os.getloadavg()[0]
    control = root.locator(case["control"]).first
    control.hover()  # the mouse rests on the control, as a student's does (Chromium
    control.focus()  # hit-tests it after each layout change: a fake mousemove)
    samples = []
    for i in range(warmup + n):
        before = root.evaluate(_SAMPLES)
        status = root.locator(".course-status").inner_text()
        root.evaluate("(root) => { root.__latency.armed = true; }")
        if "values" in case:
            control.select_option(case["values"][i % 2])
        elif "clicks" in case:
            root.locator(case["control"], has_text=case["clicks"][i % 2]).click()
        else:
            control.press(case["keys"][i % 2])
        page.wait_for_function(
            """([root, n, status]) => root.__latency.samples.length > n
                 && root.querySelector('.course-status').textContent !== status""",
            arg=[handle, before, status], timeout=30_000, polling=50)  # not "raf": a poll per frame adds its own work to every frame measured
        if i >= warmup:
            samples.append(root.evaluate(_LAST))
        time.sleep(0.15)  # let the kernel go idle: one change at a time
    name = case["name"]
    log = json.loads(labpage.execute(page, f"print(json.dumps(explorers[{name!r}].timing_log[-{n}:]))"))
    hovers = measure_hover(page, root, case, n) if case.get("hover") else []
    return summarize(case, samples, log, hovers, load_before, os.getloadavg()[0])


def measure_hover(page, root, case: dict, n: int) -> list[dict]:
    """Move the mouse to ``warmup + n`` random points of the picture, one at a time."""
    canvas = root.locator(f"{case['view']}.course-canvas-view canvas.course-canvas").first
    canvas.evaluate("(c) => c.scrollIntoView({block: 'center'})")
    rect = canvas.bounding_box()
    x0, x1, y0, y1 = hover_region(case)
    rng = random.Random(0)
    for _ in range(3 + n):
        page.mouse.move(rect["x"] + rect["width"] * rng.uniform(x0, x1),
                        rect["y"] + rect["height"] * rng.uniform(y0, y1))
        time.sleep(0.03)
    page.mouse.move(1, 1)
    time.sleep(0.2)
    return [h for h in root.evaluate(_HOVERS) if h["ok"]][3:]


def hover_region(case: dict) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) as fractions of the picture."""
    if not isinstance(case["hover"], str):
        return case["hover"]
    import course.widgets as widgets

    view = getattr(widgets, case["cls"])()._main_view
    g, (h, w) = view.params[case["hover"]], view.image_shape
    return (g["left"] / w, (g["left"] + g["cols"] * g["cell"]) / w,
            g["top"] / h, (g["top"] + g["rows"] * g["cell"]) / h)


# A kernel's burst through the server, as a Python websocket client sees it: from
# sending execute_request("pass") to its ``busy`` status and to its ``execute_input``
# (the next small message of the burst), with Jupyter Server's own websocket
# connection and with ``course.jupyter.websocket.NoDelayConnection``, in one run.
async def _burst_times(url: str, n: int) -> list[tuple[float, float]]:
    import urllib.request
    import uuid

    from tornado.websocket import websocket_connect

    request = urllib.request.Request(url + "api/kernels", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    kernel = json.loads(urllib.request.urlopen(request).read())["id"]
    ws = await websocket_connect(url.replace("http", "ws", 1)
                                 + f"api/kernels/{kernel}/channels?session_id=bench")

    async def read() -> dict:  # a lost message fails the benchmark instead of hanging it
        return json.loads(await asyncio.wait_for(ws.read_message(), 30))

    async def kernel_ready():  # a request sent before the kernel listens is lost: ask until answered
        for _ in range(60):
            await ws.write_message(json.dumps({
                "header": {"msg_id": uuid.uuid4().hex, "username": "bench", "session": "bench",
                           "msg_type": "kernel_info_request", "version": "5.3", "date": ""},
                "parent_header": {}, "metadata": {}, "channel": "shell", "content": {}}))
            try:
                while (await asyncio.wait_for(ws.read_message(), 1.0)).find("kernel_info_reply") < 0:
                    pass
                return
            except asyncio.TimeoutError:
                continue
        raise RuntimeError("the kernel never answered kernel_info_request")

    await kernel_ready()
    times = []
    for i in range(n + 5):
        msg_id = uuid.uuid4().hex
        msg = {"header": {"msg_id": msg_id, "username": "bench", "session": "bench",
                          "msg_type": "execute_request", "version": "5.3", "date": ""},
               "parent_header": {}, "metadata": {}, "channel": "shell",
               "content": {"code": "pass", "silent": False, "store_history": False,
                           "user_expressions": {}, "allow_stdin": False}}
        t0, busy, echo = time.perf_counter(), None, None
        await ws.write_message(json.dumps(msg))
        while echo is None:
            reply = await read()
            if reply["parent_header"].get("msg_id") != msg_id:
                continue
            now = (time.perf_counter() - t0) * 1e3
            if reply["msg_type"] == "status" and busy is None:
                busy = now
            elif reply["msg_type"] == "execute_input":
                echo = now
        while (await read())["msg_type"] != "execute_reply":
            pass
        if i >= 5:  # warm-up
            times.append((busy, echo))
        await asyncio.sleep(0.05)
    ws.close()
    return times


def measure_websocket(tmp: Path, n: int = 30) -> dict:
    """The second message of a kernel's burst, plain server vs NoDelayConnection."""
    med = statistics.median
    out = {"name": "kernel_websocket_burst_second_message", "n": n,
           "shape": "execute_request('pass') through JupyterLab's server: to busy, to "
                    "execute_input (the next small message)"}
    load_before = os.getloadavg()[0]
    for label, nodelay in (("plain", False), ("nodelay", True)):
        root = tmp / f"ws-{label}"
        root.mkdir()
        server = LabServer(root, tmp / f"ws-{label}-work",
                           extra_args=("--ServerApp.disable_check_xsrf=True",), nodelay=nodelay).start()
        try:
            times = asyncio.run(_burst_times(server.url(), n))
        finally:
            server.stop()
        out[f"{label}_busy_ms"] = round(med(t[0] for t in times), 1)
        out[f"{label}_second_ms"] = round(med(t[1] for t in times), 1)
    out["ratio"] = round(out["plain_second_ms"] / out["nodelay_second_ms"], 1)
    out.update(load_1min_before=round(load_before, 2), load_1min_after=round(os.getloadavg()[0], 2))
    return out


def report(r: dict) -> None:
    hover = (f"; hover {r['hover_median_ms']:.1f} ms (p90 {r['hover_p90_ms']:.0f},"
             f" painted {r['hover_paint_median_ms']:.0f})" if "hover_median_ms" in r else "")
    print(f"{r['name']:42s} median {r['median_ms']:6.1f} ms (n={r['n']}, p90 {r['p90_ms']:.0f})"
          f" = python {r['python_callback_ms']:.1f} + transport {r['transport_ms']:.1f} + paint "
          f"{r['paint_ms']:.1f}; {r['bytes_per_frame'] / 1024:.0f} kB/frame (image "
          f"{r['image_bytes'] / 1024:.0f} kB){hover}; load "
          f"{r['load_1min_before']:.2f} -> {r['load_1min_after']:.2f}", flush=True)


def _p90(values) -> float:
    return round(sorted(values)[int(0.9 * (len(values) - 1))], 1)


def summarize(case, samples, log, hovers, load_before, load_after) -> dict:
    med = statistics.median
    total = [s["paint"] - s["key"] for s in samples]
    to_draw = [s["draw"] - s["key"] for s in samples]
    paint = [s["paint"] - s["draw"] for s in samples]
    python = [t.get("total_ms", float("nan")) for t in log]
    out = {
        "name": case["name"], "shape": case["shape"], "median_ms": round(med(total), 1),
        "p90_ms": _p90(total), "n": len(total), "target_ms": TARGET_MS,
        "key_to_draw_ms": round(med(to_draw), 1), "paint_ms": round(med(paint), 1),
        "python_callback_ms": round(med(python), 1),
        "transport_ms": round(med(to_draw) - med(python), 1),
        "bytes_per_frame": int(med([s["bytes"] for s in samples])),
        "image_bytes": int(med([s["image"] for s in samples])),
    }
    for part in ("compute_ms", "draw_ms"):
        values = [t[part] for t in log if part in t]
        if values:
            out[f"python_{part}"] = round(med(values), 1)
    if hovers:
        to_readout = [h["done"] - h["event"] for h in hovers]
        to_paint = [h["paint"] - h["event"] for h in hovers]
        out.update(hover_median_ms=round(med(to_readout), 1), hover_p90_ms=_p90(to_readout),
                   hover_paint_median_ms=round(med(to_paint), 1), hover_n=len(hovers),
                   hover_target_ms=HOVER_TARGET_MS)
    out.update(load_1min_before=round(load_before, 2), load_1min_after=round(load_after, 2))
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
        results = []
        if cases:
            root = Path(tmp) / "root"
            root.mkdir()
            import nbformat

            for i, case in enumerate(cases):  # one notebook each: one explorer on the page
                nbformat.write(notebook([case]), str(root / f"latency_{i}.ipynb"))
            server = LabServer(root, Path(tmp) / "work").start()
            try:
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=CHROMIUM)
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    for i, case in enumerate(cases):
                        path = f"latency_{i}.ipynb"
                        labpage.open_notebook(page, server.url(), path)
                        labpage.run_all(page, path)
                        problems = labpage.output_problems(page)
                        if problems:
                            raise RuntimeError(f"{path} ({case['cls']}) failed:\n"
                                               + "\n".join(problems))
                        page.locator(".course-explorer").first.locator(".course-status").wait_for()
                        r = measure(page, case, 0, args.n, args.warmup)
                        page.evaluate(_SHUTDOWN)  # its kernel stops: the next case has the CPU
                        r.update(browser=browser_name, cpus=os.cpu_count(),
                                 python=platform.python_version())
                        results.append(r)
                        report(r)
                    browser.close()
            finally:
                server.stop()
        if not args.only or args.only in "kernel_websocket_burst":
            ws = measure_websocket(Path(tmp))
            results.append(ws)
            print(f"{ws['name']:42s} plain server {ws['plain_second_ms']:.1f} ms, "
                  f"NoDelayConnection {ws['nodelay_second_ms']:.1f} ms (busy "
                  f"{ws['plain_busy_ms']:.1f} / {ws['nodelay_busy_ms']:.1f} ms); load "
                  f"{ws['load_1min_before']:.2f} -> {ws['load_1min_after']:.2f}", flush=True)
    if not args.no_write:
        merge_results(results)
        print(f"wrote {len(results)} entries to {RESULTS.relative_to(REPO)}")
    for r in results:
        if r.get("median_ms", 0) > r.get("target_ms", float("inf")):
            print(f"over target: {r['name']} median {r['median_ms']} ms > {r['target_ms']} ms "
                  f"(load {r['load_1min_before']})")
        if r.get("hover_median_ms", 0) > HOVER_TARGET_MS:
            print(f"over target: {r['name']} hover {r['hover_median_ms']} ms > "
                  f"{HOVER_TARGET_MS} ms (load {r['load_1min_before']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
