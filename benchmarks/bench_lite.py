"""The zero-install site in the browser: cold start and explorer steps, next to the desktop.

    make bench                  # runs this after benchmarks/run.py
    .venv/bin/python benchmarks/bench_lite.py [-n 20]

Builds the JupyterLite site (``course.jupyter.lite_site``, offline) with the
browser benchmark's notebooks added, serves it on loopback and opens it in
headless chromium, every request off the machine blocked (as the tests do).

``lite_cold_start``: a fresh browser profile (nothing cached) opens lecture 01;
``page_to_idle_s`` is from navigation to an idle Pyodide kernel (the runtime,
the wheels and ``import course``'s packages loaded), ``first_result_s`` from
navigation to the result of the lecture's first code cell (its imports) run
with Shift+Enter; ``warm_*`` the same with the browser's cache filled (a second visit).

``lite_<case>``: the step latency of ``benchmarks/bench_browser.py``'s cases
(control change to new pixels, the same instrument), with Python running in
WebAssembly in the page's worker, next to the desktop figure of the same case
from ``benchmarks/results.json`` (``desktop_median_ms``, measured by
``make bench-browser``). Merged into ``benchmarks/results.json``.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_browser as bb  # noqa: E402
import labpage  # noqa: E402
import litesite  # noqa: E402
from labserver import CHROMIUM, chromium_missing_message  # noqa: E402

#: the explorer cases measured in the browser's Pyodide (names from bench_browser.CASES)
LITE_CASES = ("browser_kernel_explorer_preset_512", "browser_ngram_sampler_explorer_n",
              "browser_attention_explorer_d_k")
LECTURE = "lectures/01_convolution_kernels.ipynb"
PYODIDE_KERNEL = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}


def cold_start(browser, url: str) -> dict:
    """Seconds from navigation to an idle kernel and to the first cell's result: cold, then warm."""
    out = {"name": "lite_cold_start", "lecture": LECTURE}
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    for label in ("", "warm_"):
        page = context.new_page()
        blocked = litesite.block_outside(page)
        t0 = time.perf_counter()
        litesite.open_lecture(page, url, LECTURE)
        out[f"{label}page_to_idle_s"] = round(time.perf_counter() - t0, 1)
        litesite.run_first_cell(page, LECTURE)
        out[f"{label}first_result_s"] = round(time.perf_counter() - t0, 1)
        if blocked:
            raise RuntimeError(f"the site asked for files off the machine: {blocked[:3]}")
        page.close()
    context.close()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="samples per case (default 20)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    for missing in (chromium_missing_message(), litesite.missing_message()):
        if missing:
            print(f"bench-lite: {missing}", file=sys.stderr)
            return 1
    import nbformat
    from playwright.sync_api import sync_playwright

    import json

    cases = [c for c in bb.CASES if c["name"] in LITE_CASES]
    desktop = {r["name"]: r for r in json.loads(bb.RESULTS.read_text())} if bb.RESULTS.exists() else {}
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-lite-") as tmp:
        extra = Path(tmp) / "extra"
        extra.mkdir()
        for i, case in enumerate(cases):
            nb = bb.notebook([case])
            nb.metadata["kernelspec"] = PYODIDE_KERNEL   # else the site asks which kernel to start
            nbformat.write(nb, str(extra / f"latency_{i}.ipynb"))
        t0 = time.perf_counter()
        site = litesite.LiteSite(litesite.lite_site.build(Path(tmp) / "site", extra_contents=extra))
        build_s = time.perf_counter() - t0
        site.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM)
                load = os.getloadavg()[0]
                start = cold_start(browser, site.url)
                size = sum(f.stat().st_size for f in site.folder.rglob("*") if f.is_file())
                start.update(build_s=round(build_s, 1), site_mb=round(size / 1e6), load_1min_before=round(load, 2),
                             load_1min_after=round(os.getloadavg()[0], 2))
                results.append(start)
                print(f"lite_cold_start: kernel idle {start['page_to_idle_s']} s, first cell {start['first_result_s']} s "
                      f"(warm cache: {start['warm_page_to_idle_s']} / {start['warm_first_result_s']} s); "
                      f"site {start['site_mb']} MB built in {start['build_s']} s", flush=True)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                litesite.block_outside(page)
                for i, case in enumerate(cases):
                    path = f"latency_{i}.ipynb"
                    litesite.open_lecture(page, site.url, path)
                    labpage.run_all(page, path, timeout_ms=300_000)
                    problems = labpage.output_problems(page)
                    if problems:
                        raise RuntimeError(f"{path} ({case['cls']}) failed in the browser:\n" + "\n".join(problems))
                    r = bb.measure(page, {**case, "hover": None}, 0, args.n, args.warmup)
                    r["name"] = "lite_" + case["name"].removeprefix("browser_")
                    r["desktop_median_ms"] = desktop.get(case["name"], {}).get("median_ms")
                    r.update(browser=bb.chromium_version(), cpus=os.cpu_count(), python=platform.python_version(),
                             kernel="Pyodide 0.27.7 (WebAssembly) in the page")
                    page.evaluate(bb._SHUTDOWN)
                    results.append(r)
                    bb.report(r)
                    print(f"{'':42s} desktop (make bench-browser): {r['desktop_median_ms']} ms", flush=True)
                browser.close()
        finally:
            site.stop()
    if not args.no_write:
        bb.merge_results(results)
        print(f"wrote {len(results)} entries to {bb.RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
