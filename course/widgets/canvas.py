"""ImageView: the one picture view every explorer uses. Raw ``uint8`` pixels go to
the page as binary buffers and are drawn on a ``<canvas>`` (no PNG per frame);
to a page on another machine, drawn pictures (flat colours) travel deflated and the
page inflates them natively; to a page on this machine they travel as runs of one
colour (``encode``, ``PACK``).

An ``anywidget.AnyWidget`` with a small inline ES module (no npm build, nothing
fetched: works offline in JupyterLab, Voila and JupyterLite). The page draws the
buffer at its native size with ``putImageData`` and CSS scales it
(``image-rendering: pixelated``), so ``getImageData`` in the page gives back
exactly ``view.rgba()``.

Show an (H, W) float image through a colour map (the page applies the map: one
byte per pixel travels, plus a 256x3 table only when the map changes)::

    view = ImageView()
    view.show(a, cmap="gray", vmin=0.0, vmax=1.0)   # or cmap=course.plotting.SIGNED_CMAP
    view.scale = 4                                  # CSS pixels per image pixel

Show an (H, W, 3) uint8 image (a PIL or matplotlib rendering: ``np.asarray(img)``)::

    view.show_rgb(rgb)

Several panels: one view per panel, laid out with ipywidgets boxes; each sends
only its own changes (an unchanged image is never re-sent: traitlets compares
the bytes)::

    left, right = ImageView(), ImageView()
    W.HBox([left, right])

Outlines drawn above the pixels (a second canvas: the pixel data stays the
array), in image pixels, just outside the rectangle::

    view.boxes = [box(top, left, height, width, colour="#e61414", line_width=2)]

Hover read-outs are computed in the page from data already sent: a float32
``values`` buffer and a formatter chosen by name from the page's small table
``FORMATTERS`` (data, not branches), with its parameters in ``params``::

    view.hover("value", values=a)                 # "value[r, c] = 0.1234" under the mouse
    view.hover("row", values=attn, label="query") # one row of a matrix (attention)
    view.hover("weighted_sum", values=image, weights=k.tolist(), stride=1, pad=1,
               mode="zeros")                      # output pixel = sum(patch x kernel)
    view.hover("receptive_field", in_grid=grid(...), out_grid=grid(...), k=3, s=2,
               p=1, d=1, n=7)                     # the input cells an output cell reads

``grid(left, top, cell, rows, cols, first_row=0, first_col=0)`` says where a grid
of cells sits in the image (for pictures of grids; without it the mouse maps to
``values`` by scaling). The read-out is a ``.course-hover`` line under the
picture; its ``data-value`` holds the number (or JSON list) for tests. A new
formatter is one function in ``FORMATTERS`` in ``_ESM`` below:
``(ctx) -> {text, value, boxes}``, ``ctx = {x, y, shape, values, vshape, params}``.

Each draw sets ``data-frame`` (frames drawn), ``data-bytes`` (size of the image
drawn) and ``data-sent`` (bytes that travelled for it: fewer for a packed
picture, see ``encode``) on the view's element, for tests and the browser benchmark.
"""
from __future__ import annotations

import functools
import io
import os
import sys
import zlib

import anywidget
import matplotlib
import numpy as np
import traitlets as T
from PIL import Image

__all__ = ["ImageView", "box", "encode", "grid", "lut", "to_codes", "png_bytes"]

LEVELS = 256
#: ``pixels`` starts with the frame number (uint32, little-endian), then the image. The
#: page's widget model compares a new value with the old one byte by byte (underscore's
#: ``isEqual``, several times per message) before it tells the view: images that agree
#: in their first rows (a grid picture's white margin) cost ~10 ms of comparing at
#: 600 kB. A new frame number makes the first bytes differ, so each comparison stops
#: at once.
FRAME_HEADER = 4


@functools.lru_cache(maxsize=16)
def _lut_cached(name: str) -> bytes:
    from course.plotting import SIGNED_CMAP

    cmap = SIGNED_CMAP if name == SIGNED_CMAP.name else matplotlib.colormaps[name]
    rgb = (cmap(np.linspace(0.0, 1.0, LEVELS))[:, :3] * 255 + 0.5).astype(np.uint8)
    return rgb.tobytes()


def lut(cmap) -> bytes:
    """768 bytes: the colour map (name or matplotlib Colormap) at 256 levels, RGB."""
    return _lut_cached(cmap if isinstance(cmap, str) else cmap.name)


def to_codes(a: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """(H, W) floats -> (H, W) uint8 codes 0..255: ``vmin`` -> 0, ``vmax`` -> 255,
    rounded, clipped outside (as a screen would)."""
    span = vmax - vmin if vmax > vmin else 1.0
    q = (np.asarray(a, dtype=np.float64) - vmin) * ((LEVELS - 1) / span) + 0.5
    return np.clip(q, 0, LEVELS - 1).astype(np.uint8)


#: Drawn pictures (RGB/RGBA: grids, charts, figures: flat colours) travel packed when that
#: halves them, and the page unpacks them before drawing. Bytes cost time even on this
#: machine: a 750 kB message reaches the page ~20 ms after the one before it (measured
#: between the kernel's three sends of an attention step, 3 ms apart, and the page's
#: websocket, two cores shared with Chromium), so three raw pictures took 60 ms to arrive.
#: To a page on this machine (the view tells: ``remote``, from the page's host name) they
#: travel as **runs** of one colour within a row (``runs``: 5-25x smaller, 0.3-3 ms of
#: NumPy, unpacked in the page with one typed-array fill per run, in the same task); to a
#: page on another machine **deflated** (15-37x smaller for 1.2-1.8 ms of zlib level 1:
#: 700 kB -> 40 kB a step, over a network the difference between lag and none), inflated
#: by the page natively (``DecompressionStream``: asynchronous, 20-30 ms later here, which
#: is why the local page gets runs). A photograph does not shrink: a sample tells, and it
#: travels raw; so do colour-map codes. Never in the browser (JupyterLite: the kernel is in
#: the page, bytes are copied, not sent). ``COURSE_CANVAS_PACK=0`` turns packing off.
PACK = sys.platform != "emscripten" and os.environ.get("COURSE_CANVAS_PACK", "1") != "0"
#: host names of a page on the kernel's own machine
LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]", "::1"]
_SAMPLE = 32 * 1024


def _rgba32(image: np.ndarray) -> np.ndarray:
    """(H, W, 3|4) uint8 -> (H*W,) uint32 whose little-endian bytes are R, G, B, A (255
    for RGB): what a ``Uint32Array`` over the page's ImageData holds."""
    if image.shape[2] == 3:  # PIL adds the alpha 3x faster than a NumPy concatenate
        return np.frombuffer(Image.fromarray(np.ascontiguousarray(image)).convert("RGBA").tobytes(), "<u4")
    return np.ascontiguousarray(image).view("<u4").reshape(-1)


def runs(image: np.ndarray) -> bytes:
    """(H, W, 3|4) uint8 -> runs of one colour within a row: ``n`` (uint32), then the n
    colours (uint32 RGBA, ``_rgba32``), then the n lengths (uint16: a run ends at its
    row's end, so a length is at most W), all little-endian."""
    h, w, _ = image.shape
    px = _rgba32(image)
    start = np.ones(px.size, bool)
    start[1:] = px[1:] != px[:-1]
    start[::w] = True                                      # a new row starts a new run
    first = np.flatnonzero(start)
    lengths = np.diff(first, append=px.size).astype("<u2")
    return np.uint32(first.size).tobytes() + px[first].tobytes() + lengths.tobytes()


def encode(image: np.ndarray, remote: bool = True) -> tuple[bytes, str]:
    """(body, encoding) for an (H, W, C) uint8 image: ``(raw, "raw")``, ``(runs, "runs")``
    for a page on this machine or ``(zlib, "deflate")`` for one on another (see ``PACK``)."""
    raw = image.tobytes()
    h, w, c = image.shape
    if c < 3 or len(raw) < 2 * _SAMPLE or w > 2**16 - 1:
        return raw, "raw"
    if 2 * len(zlib.compress(raw[:_SAMPLE], 1)) > _SAMPLE:  # a photograph: leave it
        return raw, "raw"
    packed, how = (zlib.compress(raw, 1), "deflate") if remote else (runs(image), "runs")
    return (packed, how) if 2 * len(packed) <= len(raw) else (raw, "raw")


def box(top: float, left: float, height: float, width: float, colour: str = "#e61414",
        line_width: float = 2) -> dict:
    """An outline for ``ImageView.boxes``, in image pixels (drawn just outside)."""
    return {"top": float(top), "left": float(left), "height": float(height),
            "width": float(width), "colour": colour, "line_width": float(line_width)}


def grid(left: int, top: int, cell: int, rows: int, cols: int, first_row: int = 0,
         first_col: int = 0) -> dict:
    """Where a grid of square cells sits in the image (pixels), for hover formatters."""
    return {"left": int(left), "top": int(top), "cell": int(cell), "rows": int(rows),
            "cols": int(cols), "first_row": int(first_row), "first_col": int(first_col)}


def png_bytes(rgb: np.ndarray) -> bytes:
    """(H, W, 3) uint8 -> PNG bytes (a convenience for saving; the page gets raw pixels)."""
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(out, format="PNG", compress_level=1)
    return out.getvalue()


_ESM = r"""
const FRAME_HEADER = 4;  // pixels = frame number (uint32) + image, see canvas.py
const u8 = (v) => {
  if (!v) return new Uint8Array(0);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return new Uint8Array(0);
};
const inflate = async (bytes) => new Uint8Array(await new Response(
  new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"))).arrayBuffer());
// runs (see ``runs`` in canvas.py) -> RGBA bytes of n pixels: one fill per run
const unrun = (body, n) => {
  const count = new DataView(body.buffer, body.byteOffset, 4).getUint32(0, true);
  const colours = new Uint32Array(body.slice(4, 4 + 4 * count).buffer);
  const lengths = new Uint16Array(body.slice(4 + 4 * count, 4 + 6 * count).buffer);
  const out = new Uint32Array(n);
  for (let i = 0, at = 0; i < count; i++) { out.fill(colours[i], at, at + lengths[i]); at += lengths[i]; }
  return new Uint8Array(out.buffer);
};
const f32 = (v) => { const b = u8(v); return new Float32Array(b.slice().buffer); };
const fmt = (v) => (Number.isFinite(v) ? (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3)
  ? v.toExponential(3) : v.toFixed(4)) : String(v));

// image pixel (x, y) -> cell (r, c) of a grid {left, top, cell, rows, cols, first_row, first_col}
const cellOf = (g, x, y) => {
  const c = Math.floor((x - g.left) / g.cell), r = Math.floor((y - g.top) / g.cell);
  if (r < 0 || c < 0 || r >= g.rows || c >= g.cols) return null;
  return [r + (g.first_row || 0), c + (g.first_col || 0)];
};
const cellBox = (g, r, c, colour, lw) => ({
  top: g.top + (r - (g.first_row || 0)) * g.cell, left: g.left + (c - (g.first_col || 0)) * g.cell,
  height: g.cell, width: g.cell, colour: colour, line_width: lw});
// the (r, c) of values under image pixel (x, y): via a grid, or by scaling
const valueCell = (ctx) => {
  const g = ctx.params.grid;
  if (g) return cellOf(g, ctx.x, ctx.y);
  const [H, W] = ctx.shape, [vh, vw] = ctx.vshape;
  return [Math.floor(ctx.y * vh / H), Math.floor(ctx.x * vw / W)];
};
const boxOfValue = (ctx, r, c, colour, lw) => {
  const g = ctx.params.grid;
  if (g) return cellBox(g, r, c, colour, lw);
  const [H, W] = ctx.shape, [vh, vw] = ctx.vshape;
  return {top: r * H / vh, left: c * W / vw, height: H / vh, width: W / vw, colour: colour, line_width: lw};
};
const PAD = {  // index into [0, n) for a padded index i, or -1 (reads a zero)
  zeros: (i, n) => (i < 0 || i >= n ? -1 : i),
  reflect: (i, n) => (n === 1 ? 0 : i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i),
  replicate: (i, n) => Math.min(Math.max(i, 0), n - 1),
};

// name -> (ctx) => {text, value, boxes}; ctx = {x, y, shape, values, vshape, params}
const FORMATTERS = {
  value(ctx) {
    const rc = valueCell(ctx);
    if (!rc) return null;
    const [r, c] = rc, v = ctx.values[r * ctx.vshape[1] + c], label = ctx.params.label || "value";
    return {text: `${label}[${r}, ${c}] = ${fmt(v)}`, value: v,
            boxes: [boxOfValue(ctx, r, c, "#e61414", 2)]};
  },
  row(ctx) {  // one row of a matrix, e.g. the attention weights of the query under the mouse
    const rc = valueCell(ctx);
    if (!rc) return null;
    const [r] = rc, n = ctx.vshape[1], row = Array.from(ctx.values.subarray(r * n, r * n + n));
    let best = 0;
    row.forEach((v, j) => { if (v > row[best]) best = j; });
    const shown = row.slice(0, 16).map((v) => v.toFixed(3)).join(", ") + (n > 16 ? ", ..." : "");
    const label = ctx.params.label || "row";
    const first = boxOfValue(ctx, r, 0, "#e61414", 2), last = boxOfValue(ctx, r, n - 1, "#e61414", 2);
    first.width = last.left + last.width - first.left;
    return {text: `${label} ${r}: [${shown}] (largest at ${best}: ${fmt(row[best])})`,
            value: row, boxes: [first]};
  },
  weighted_sum(ctx) {  // output pixel under the mouse = sum(input patch x kernel)
    const p = ctx.params, [OH, OW] = ctx.shape, [IH, IW] = ctx.vshape, w = p.weights, k = w.length;
    const r = Math.floor(ctx.y), c = Math.floor(ctx.x);
    if (r < 0 || c < 0 || r >= OH || c >= OW) return null;
    const pad = PAD[p.mode || "zeros"];
    let sum = 0;
    for (let i = 0; i < k; i++) {
      const y = pad(r * p.stride - p.pad + i, IH);
      for (let j = 0; j < k; j++) {
        const x = pad(c * p.stride - p.pad + j, IW);
        if (y >= 0 && x >= 0) sum += ctx.values[y * IW + x] * w[i][j];
      }
    }
    return {text: `output[${r}, ${c}] = sum(patch \u00d7 kernel) = ${sum.toFixed(4)}`, value: sum,
            boxes: [{top: r, left: c, height: 1, width: 1, colour: "#e61414", line_width: 2}]};
  },
  receptive_field(ctx) {  // input cells read by the output cell under the mouse
    const p = ctx.params, rc = cellOf(p.out_grid, ctx.x, ctx.y);
    if (!rc) return null;
    const [r, c] = rc, taps = [], boxes = [];
    for (let i = 0; i < p.k; i++)
      for (let j = 0; j < p.k; j++) taps.push([r * p.s - p.p + p.d * i, c * p.s - p.p + p.d * j]);
    for (const [y, x] of taps) boxes.push(cellBox(p.in_grid, y, x, "#1f4e9c", 3));
    boxes.push(cellBox(p.out_grid, r, c, "#1f4e9c", 3));
    const nc = p.n_cols || p.n, inside = taps.filter(([y, x]) => y >= 0 && x >= 0 && y < p.n && x < nc);
    let text = `output (${r}, ${c}) reads input rows ${taps[0][0]}..${taps[taps.length - 1][0]}, ` +
      `cols ${taps[0][1]}..${taps[taps.length - 1][1]}` + (p.d > 1 ? ` every ${p.d}` : "") +
      ` (${p.k}\u00d7${p.k} taps, ${taps.length - inside.length} on padding)`;
    if (p.reduce && ctx.values.length) {  // pooling: the window's max or mean, from the sent grid
      const vals = inside.map(([y, x]) => ctx.values[y * ctx.vshape[1] + x]);
      const v = p.reduce === "max" ? Math.max(...vals) : vals.reduce((a, b) => a + b, 0) / vals.length;
      text += `: ${p.reduce} = ${fmt(v)}`;
    }
    return {text: text, value: taps, boxes: boxes};
  },
};

// Keys in JupyterLite's page (JupyterLab 4.4): its shortcuts run in the capture phase, so an
// arrow key on a slider of an explorer moved the notebook's cell selection instead; each
// control of an explorer that gets the focus now says "these keys are mine" (Lumino reads
// the attribute). And Enter in a widget's text box sends no change event there (a plain
// <input> on the same page does): after Enter, the box reports its value as a change itself
// (where the browser already did, the value is the same and nothing is sent twice).
// Listeners on the document, installed once per page.
function keepKeys() {
  if (window.__courseKeys) return;
  window.__courseKeys = true;
  const inExplorer = (t) => t.closest && t.closest(".course-explorer");
  document.addEventListener("focusin", (e) => {
    if (inExplorer(e.target)) e.target.setAttribute("data-lm-suppress-shortcuts", "true");
  }, true);
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (e.key === "Enter" && t.tagName === "INPUT" && inExplorer(t))
      setTimeout(() => t.dispatchEvent(new Event("change", { bubbles: true })), 0);
  }, true);
}

function render({ model, el }) {
  keepKeys();
  el.classList.add("course-canvas-view");
  const remote = !(model.get("local_hosts") || []).includes(location.hostname);
  if (model.get("remote") !== remote) { model.set("remote", remote); model.save_changes(); }
  const wrap = document.createElement("div");
  wrap.style.cssText = "position:relative;display:inline-block;max-width:100%;line-height:0";
  const canvas = document.createElement("canvas");
  canvas.className = "course-canvas";
  canvas.style.cssText = "display:block;max-width:100%;image-rendering:pixelated;";
  const overlay = document.createElement("canvas");
  overlay.className = "course-canvas-overlay";
  overlay.style.cssText = "position:absolute;left:0;top:0;width:100%;height:100%;pointer-events:none";
  const readout = document.createElement("div");
  readout.className = "course-hover";
  readout.style.cssText = "font:12px monospace;min-height:1.4em;white-space:pre-wrap";
  wrap.append(canvas, overlay);
  el.append(wrap, readout);
  const ctx2d = canvas.getContext("2d", { willReadFrequently: true });
  let image = null, frames = 0, mouse = null, hoverBoxes = [], values = null, vkey = null;
  el.__course = { draws: [], hovers: [] };

  const shape = () => model.get("shape") || [0, 0, 1];
  const getValues = () => {  // decoded once per new buffer
    const v = model.get("values");
    if (v !== vkey) { vkey = v; values = f32(v); }
    return values;
  };

  function layout() {
    const [H, W] = shape(), s = model.get("scale") || 1;
    readout.style.display = model.get("formatter") ? "" : "none";  // no read-out, no gap
    const w = model.get("width") || W * s, h = model.get("height");
    canvas.style.width = w + "px";
    canvas.style.height = h ? h + "px" : "auto";
    const f = Math.max(1, Math.round(w / Math.max(W, 1)));  // overlay pixels per image pixel
    if (overlay.width !== W * f) overlay.width = W * f;
    if (overlay.height !== H * f) overlay.height = H * f;
  }

  function drawOverlay() {
    const [H, W] = shape(), o = overlay.getContext("2d");
    const f = overlay.width / Math.max(W, 1), g = overlay.height / Math.max(H, 1);
    o.clearRect(0, 0, overlay.width, overlay.height);
    for (const b of [...(model.get("boxes") || []), ...hoverBoxes]) {
      const lw = b.line_width || 2;
      o.strokeStyle = b.colour || "#e61414";
      o.lineWidth = lw;
      o.strokeRect(b.left * f - lw / 2, b.top * g - lw / 2, b.width * f + lw, b.height * g + lw);
    }
  }

  // the image of the current ``pixels`` and its channels: the body, unpacked from runs
  // (RGBA), or inflated (a drawn picture, see ``encoding``); null while inflating: the draw
  // follows, unless a newer frame came
  let decoded = null, inflating = null;
  function pixels() {
    const v = model.get("pixels"), [H, W, C] = shape();
    if (decoded && decoded.v === v) return decoded;
    const body = u8(v).subarray(FRAME_HEADER), how = model.get("encoding");
    el.dataset.sent = String(body.length);
    if (how === "runs") { decoded = { v: v, px: unrun(body, H * W), C: 4 }; return decoded; }
    if (how !== "deflate") { decoded = { v: v, px: body, C: C }; return decoded; }
    if (inflating !== v) {
      inflating = v;
      inflate(body).then((px) => {
        if (model.get("pixels") === v) { decoded = { v: v, px: px, C: C }; redraw(); }
      });
    }
    return null;
  }

  function draw() {
    const [H, W] = shape(), got = pixels(), px = got && got.px, C = got && got.C;
    if (!px || px.length !== H * W * C) return;  // inflating, or a half-updated model
    if (canvas.width !== W || canvas.height !== H) { canvas.width = W; canvas.height = H; image = null; }
    if (!image) image = ctx2d.createImageData(Math.max(W, 1), Math.max(H, 1));
    const d = image.data, n = H * W;
    if (C === 1) {  // colour-map codes through the 256x3 table
      const lut = u8(model.get("lut")), out = new Uint32Array(d.buffer), t = new Uint32Array(256);
      for (let i = 0; i < 256; i++)
        t[i] = (255 << 24) | (lut[3 * i + 2] << 16) | (lut[3 * i + 1] << 8) | lut[3 * i];
      for (let i = 0; i < n; i++) out[i] = t[px[i]];
    } else if (C === 3) {
      for (let i = 0, j = 0; i < n; i++, j += 3) {
        d[4 * i] = px[j]; d[4 * i + 1] = px[j + 1]; d[4 * i + 2] = px[j + 2]; d[4 * i + 3] = 255;
      }
    } else {
      d.set(px);
    }
    if (n) ctx2d.putImageData(image, 0, 0);
    frames += 1;
    el.dataset.frame = String(frames);
    const size = H * W * shape()[2];  // the image's own bytes (before packing: data-sent)
    el.dataset.bytes = String(size);
    el.__course.draws.push({ t: performance.now(), bytes: size });
    if (el.__course.draws.length > 500) el.__course.draws.shift();
  }

  function hover(event) {
    const t0 = performance.now();
    const name = model.get("formatter"), fn = FORMATTERS[name];
    const [H, W] = shape();
    let out = null;
    if (fn && mouse && W && H) {
      const rect = canvas.getBoundingClientRect();
      const x = (mouse[0] - rect.left) * W / rect.width, y = (mouse[1] - rect.top) * H / rect.height;
      out = fn({ x: x, y: y, shape: [H, W], values: getValues(),
                 vshape: model.get("values_shape") || [H, W], params: model.get("params") || {} });
    }
    readout.textContent = out ? out.text : "";
    readout.dataset.value = out ? JSON.stringify(out.value) : "";
    hoverBoxes = out ? out.boxes || [] : [];
    drawOverlay();
    if (event) el.__course.hovers.push({ event: event.timeStamp, start: t0, done: performance.now() });
  }

  canvas.addEventListener("mousemove", (e) => { mouse = [e.clientX, e.clientY]; hover(e); });
  canvas.addEventListener("mouseleave", () => { mouse = null; hover(null); });
  const redraw = () => { draw(); layout(); drawOverlay(); if (mouse) hover(null); };
  let queued = false;  // one draw for the several attributes of one update
  const schedule = () => { if (!queued) { queued = true; queueMicrotask(() => { queued = false; redraw(); }); } };
  for (const a of ["pixels", "shape", "lut", "encoding"]) model.on(`change:${a}`, schedule);
  for (const a of ["scale", "width", "height", "boxes"]) model.on(`change:${a}`, () => { layout(); drawOverlay(); });
  for (const a of ["values", "params", "formatter"]) model.on(`change:${a}`, () => { layout(); if (mouse) hover(null); });
  redraw();
}
export default { render };
"""

_CSS = """
.course-canvas-view { max-width: 100%; }
"""


class ImageView(anywidget.AnyWidget):
    """One picture: uint8 pixels drawn on a canvas in the page (see the module docstring).

    Synced state: ``pixels`` (bytes: the frame number in ``FRAME_HEADER`` bytes, then
    the image, raw, as runs or deflated as ``encoding`` says), ``shape`` [H, W, C] with C = 1 (codes
    through ``lut``), 3 (RGB) or 4 (RGBA); ``lut`` (768 bytes); ``scale`` (CSS
    pixels per image pixel) or ``width``/``height`` (CSS pixels, 0 = from scale);
    ``boxes`` (outlines, see ``box``); ``values`` (float32 bytes) with
    ``values_shape``, ``formatter`` and ``params`` for the hover read-out.
    """

    _esm = _ESM
    _css = _CSS

    pixels = T.Bytes(bytes(FRAME_HEADER)).tag(sync=True)
    encoding = T.Unicode("raw").tag(sync=True)  # of the image after the frame number
    remote = T.Bool(False).tag(sync=True)       # set by the page: is it on another machine?
    local_hosts = T.List(T.Unicode(), default_value=LOCAL_HOSTS).tag(sync=True)
    shape = T.List(T.Int(), default_value=[0, 0, 1]).tag(sync=True)
    lut = T.Bytes(lut("gray")).tag(sync=True)
    scale = T.Float(1.0).tag(sync=True)
    width = T.Float(0.0).tag(sync=True)
    height = T.Float(0.0).tag(sync=True)
    boxes = T.List().tag(sync=True)
    values = T.Bytes(b"").tag(sync=True)
    values_shape = T.List(T.Int(), default_value=[0, 0]).tag(sync=True)
    formatter = T.Unicode("").tag(sync=True)
    params = T.Dict().tag(sync=True)

    def __init__(self, image: np.ndarray | None = None, **kwargs):
        super().__init__(**kwargs)
        self.frames = 0        # images sent (an unchanged image is not sent, not counted)
        self._images = 0       # distinct pixel buffers sent: the frame number in ``pixels``
        self._raw = b""        # the image last sent, before any deflating
        self.bytes_sent = 0    # bytes that travelled for the last image (packed or raw)
        if image is not None:
            a = np.asarray(image)
            if a.dtype == np.uint8 and a.ndim == 3:
                self.show_rgb(a)
            else:
                self.show(a)

    # ---------------------------------------------------------------- showing
    def show(self, a: np.ndarray, cmap="gray", vmin: float = 0.0, vmax: float = 1.0) -> None:
        """An (H, W) float image through colour map ``cmap`` on [vmin, vmax]: one byte
        per pixel travels; the page looks the colours up."""
        a = np.asarray(a)
        if a.ndim != 2:
            raise ValueError(f"show needs an (H, W) array, got shape {a.shape}; for an "
                             f"(H, W, 3) uint8 image use show_rgb")
        self._put(to_codes(a, vmin, vmax), [a.shape[0], a.shape[1], 1], lut(cmap))

    def show_rgb(self, rgb: np.ndarray) -> None:
        """An (H, W, 3) (or (H, W, 4) RGBA) uint8 image, pixel for pixel."""
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] not in (3, 4) or rgb.dtype != np.uint8:
            raise ValueError(f"show_rgb needs an (H, W, 3) or (H, W, 4) uint8 array, got "
                             f"{rgb.dtype} {rgb.shape}; use show(a, cmap) for floats")
        self._put(rgb, list(rgb.shape), None)

    def _put(self, data: np.ndarray, shape: list, table: bytes | None) -> None:
        image = np.asarray(data).reshape(shape)
        raw = image.tobytes()
        new_pixels = raw != self._raw
        if not (new_pixels or shape != list(self.shape)
                or (table is not None and table != self.lut)):
            return  # an unchanged image is never re-sent
        self.frames += 1
        with self.hold_sync():  # one message: the page never sees new pixels with an old shape
            self.shape = shape
            if table is not None:
                self.lut = table
            if new_pixels:
                body, self.encoding = (encode(image, self.remote) if PACK
                                       else (raw, "raw"))
                self._raw, self._images, self.bytes_sent = raw, self._images + 1, len(body)
                self.pixels = (self._images % 2**32).to_bytes(FRAME_HEADER, "little") + body

    def hover(self, formatter: str, values: np.ndarray | None = None, **params) -> None:
        """Choose the page's hover read-out: ``formatter`` names a function of the
        page's ``FORMATTERS`` (value, row, weighted_sum, receptive_field);
        ``values`` (any 2-D array, sent once as float32, re-sent only when it
        changes) and ``params`` (JSON) are its data."""
        with self.hold_sync():
            if values is not None:
                v = np.asarray(values, dtype=np.float32)
                if v.ndim != 2:
                    raise ValueError(f"hover values must be 2-D, got shape {v.shape}")
                self.values_shape = list(v.shape)
                self.values = np.ascontiguousarray(v).tobytes()
            self.params = params
            self.formatter = formatter

    # ---------------------------------------------------------------- reading
    @property
    def image_shape(self) -> tuple[int, int]:
        return int(self.shape[0]), int(self.shape[1])

    def rgba(self) -> np.ndarray:
        """(H, W, 4) uint8: exactly what the page's ``getImageData`` returns."""
        h, w, c = self.shape
        px = np.frombuffer(self._raw, dtype=np.uint8)
        if c == 1:
            table = np.frombuffer(self.lut, dtype=np.uint8).reshape(LEVELS, 3)
            rgb = table[px.reshape(h, w)]
        else:
            rgb = px.reshape(h, w, c)[..., :3]
        if c == 4:
            return px.reshape(h, w, 4).copy()
        return np.concatenate([rgb, np.full((h, w, 1), 255, np.uint8)], axis=2)

    def rgb(self) -> np.ndarray:
        """(H, W, 3) uint8 of the picture (no outlines)."""
        return self.rgba()[..., :3]

    def png(self) -> bytes:
        """PNG of the picture, encoded on request (never per frame)."""
        return png_bytes(self.rgb())

    def hover_values(self) -> np.ndarray:
        """The ``values`` buffer as the page reads it: float32 (values_shape)."""
        return np.frombuffer(self.values, dtype=np.float32).reshape(self.values_shape)
