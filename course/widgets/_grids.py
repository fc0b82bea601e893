"""Pictures drawn with PIL: small grids of cells (ConvArithmeticExplorer's and
PoolingExplorer's views), and the few charts whose matplotlib redraw was most of a
step (the n-gram die, the embedding scatter): text, boxes, lines and arrows on a
``GridCanvas``.

Why not matplotlib: a figure with 80 numbers and its tick labels takes ~150 ms
to draw, most of a slider step; these pictures take a few ms. The picture keeps
a fixed size, so the page never re-lays it out; ``canvas.rgb()`` is what
``ImageView.show_rgb`` sends.

    canvas = GridCanvas(640, 320)
    grid = canvas.grid(panel=(0, 0, 320, 320), rows=4, cols=4, cell=40)
    grid.fill(colours)                      # (4, 4, 3) floats in [0, 1]
    grid.numbers(values, "{:g}")            # one number per cell
    grid.outline(0, 0, 2, 2, "red", 3)      # rows 0-1, cols 0-1
    view.show_rgb(canvas.rgb())             # (H, W, 3) uint8
"""
from __future__ import annotations

import functools
import math
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["GridCanvas", "Grid", "font", "fit_cell"]

_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
TITLE_HEIGHT = 44   # pixels above a grid for a two-line title
LEFT_MARGIN = 40    # row numbers and the "row" label
BOTTOM_MARGIN = 34  # column numbers and the "column" label


@functools.lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (matplotlib's own font, so no download) at ``size`` pixels."""
    return ImageFont.truetype(str(_FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")),
                              size)


def fit_cell(panel, rows: int, cols: int, largest: int = 48) -> int:
    """Largest cell size (pixels, at most ``largest``) that fits a rows x cols grid in
    ``panel`` = (left, top, width, height), margins for titles and numbers included."""
    _, _, width, height = panel
    room_w = (width - LEFT_MARGIN - 8) // max(cols, 1)
    room_h = (height - TITLE_HEIGHT - BOTTOM_MARGIN) // max(rows, 1)
    return int(max(4, min(largest, room_w, room_h)))


@functools.lru_cache(maxsize=4096)
def _text_mask(text: str, size: int, anchor: str, bold: bool = False
               ) -> tuple[Image.Image, int, int]:
    """The text's coverage (an "L" image) and its offset from the anchor point, rendered
    once: a grid shows the same few numbers step after step (rendering them was most
    of a pooling step)."""
    f = font(size, bold)
    box = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox(
        (0, 0), text, font=f, anchor=anchor, align="center")
    left, top, right, bottom = (math.floor(box[0]), math.floor(box[1]), math.ceil(box[2]),
                                math.ceil(box[3]))
    mask = Image.new("L", (max(right - left, 1), max(bottom - top, 1)))
    ImageDraw.Draw(mask).text((-left, -top), text, font=f, fill=255, anchor=anchor,
                              align="center")
    return mask, left, top


@functools.lru_cache(maxsize=4096)
def _vertical_mask(text: str, size: int) -> Image.Image:
    """The text's coverage turned 90 degrees (read bottom to top), rendered once."""
    f = font(size)
    _, _, right, bottom = f.getbbox(text)
    mask = Image.new("L", (max(right, 1), max(bottom, 1)))
    ImageDraw.Draw(mask).text((0, 0), text, font=f, fill=255)
    return mask.rotate(90, expand=True)


def _rgb(colour) -> tuple[int, int, int]:
    """Matplotlib colour (name, hex, or floats in [0, 1]) -> 8-bit RGB."""
    if isinstance(colour, str):
        return _named_rgb(colour)
    r, g, b = matplotlib.colors.to_rgb(colour)
    return round(r * 255), round(g * 255), round(b * 255)


@functools.lru_cache(maxsize=256)
def _named_rgb(colour: str) -> tuple[int, int, int]:
    r, g, b = matplotlib.colors.to_rgb(colour)
    return round(r * 255), round(g * 255), round(b * 255)


class GridCanvas:
    """A white picture of ``width`` x ``height`` pixels that grids are drawn on."""

    def __init__(self, width: int, height: int):
        self.image = Image.new("RGB", (width, height), "white")
        self.draw = ImageDraw.Draw(self.image)

    def grid(self, panel, rows: int, cols: int, cell: int, first_row: int = 0,
             first_col: int = 0, title: str = "") -> "Grid":
        """A rows x cols grid centred in ``panel`` = (left, top, width, height), with
        its title above it. Cells are numbered from (first_row, first_col)."""
        left, top, width, _ = panel
        x0 = left + LEFT_MARGIN + (width - LEFT_MARGIN - cols * cell) // 2
        if title:
            self.text(left + LEFT_MARGIN // 2 + width // 2, top + 4, title, 13, anchor="ma")
        return Grid(self, x0, top + TITLE_HEIGHT, rows, cols, cell, first_row, first_col)

    def text(self, x: float, y: float, text: str, size: int = 12, colour="black",
                 anchor: str = "mm", bold: bool = False) -> None:
        """Text at (x, y) (rounded to whole pixels), lines centred; ``anchor`` as in
        PIL ("mm": centred on (x, y), "ma": top centre, "rm": right middle, "ld": left
        baseline)."""
        mask, dx, dy = _text_mask(text, size, anchor, bold)
        self.image.paste(_rgb(colour), (round(x) + dx, round(y) + dy), mask)

    def dot(self, x: float, y: float, radius: float, colour) -> None:
        """A filled disc centred on pixel (x, y)."""
        self.draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=_rgb(colour))

    def arrow(self, start, end, colour, width: int = 2, head: float = 9.0) -> None:
        """A straight arrow from pixel ``start`` (x, y) to ``end``, its head at ``end``."""
        (x0, y0), (x1, y1) = start, end
        length = max(float(np.hypot(x1 - x0, y1 - y0)), 1e-9)
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        bx, by = x1 - ux * head, y1 - uy * head          # base of the head
        fill = _rgb(colour)
        self.draw.line([(x0, y0), (bx, by)], fill=fill, width=width)
        self.draw.polygon([(x1, y1), (bx - uy * head / 2, by + ux * head / 2),
                           (bx + uy * head / 2, by - ux * head / 2)], fill=fill)

    def vertical_text(self, x: float, y: float, text: str, size: int = 12) -> None:
        """Text turned 90 degrees (read bottom to top), centred at (x, y)."""
        mask = _vertical_mask(text, size)
        self.image.paste((0, 0, 0), (round(x - mask.width / 2), round(y - mask.height / 2)), mask)

    def rgb(self) -> np.ndarray:
        """(height, width, 3) uint8 pixels of the picture."""
        return np.asarray(self.image)


class Grid:
    """One grid of square cells on a canvas: maps cell (row, col) to pixels.

    Rows go down and columns go right, as in an array; row and column numbers
    start at (first_row, first_col) (negative for the padding around an input).
    """

    def __init__(self, canvas: GridCanvas, left: int, top: int, rows: int, cols: int,
                 cell: int, first_row: int = 0, first_col: int = 0):
        self.canvas, self.left, self.top = canvas, left, top
        self.rows, self.cols, self.cell = rows, cols, cell
        self.first_row, self.first_col = first_row, first_col

    def box(self, row: float, col: float, height: float = 1, width: float = 1):
        """Pixel box (x0, y0, x1, y1) of the cells rows row.., cols col.. (exclusive end)."""
        x0 = self.left + (col - self.first_col) * self.cell
        y0 = self.top + (row - self.first_row) * self.cell
        return x0, y0, x0 + width * self.cell, y0 + height * self.cell

    def fill(self, colours: np.ndarray) -> None:
        """Colour the cells from the top-left one: colours (rows, cols, 3) floats in [0, 1]
        (fewer rows or columns than the grid leave the rest white)."""
        rgb = (np.asarray(colours, dtype=np.float64) * 255 + 0.5).astype(np.uint8)
        pixels = np.repeat(np.repeat(rgb, self.cell, axis=0), self.cell, axis=1)
        self.canvas.image.paste(Image.fromarray(np.ascontiguousarray(pixels)),
                                (self.left, self.top))

    def shade(self, row: int, col: int, colour, alpha: float) -> None:
        """Blend ``colour`` over one cell (inside the grid or not) with opacity ``alpha``."""
        box = tuple(int(v) for v in self.box(row, col))
        under = self.canvas.image.crop(box)
        over = Image.new("RGB", under.size, _rgb(colour))
        self.canvas.image.paste(Image.blend(under, over, alpha), box)

    def lines(self, rows: int | None = None, cols: int | None = None, colour="#999999") -> None:
        """Thin lines between the cells and around them (the first rows x cols cells;
        default all)."""
        rows, cols = rows or self.rows, cols or self.cols
        draw, (x0, y0, x1, y1) = self.canvas.draw, self.box(self.first_row, self.first_col,
                                                            rows, cols)
        for i in range(rows + 1):
            y = y0 + i * self.cell
            draw.line([(x0, y), (x1, y)], fill=_rgb(colour))
        for j in range(cols + 1):
            x = x0 + j * self.cell
            draw.line([(x, y0), (x, y1)], fill=_rgb(colour))

    def numbers(self, values: np.ndarray, fmt: str, dark: np.ndarray | None = None) -> None:
        """Write each value in its cell; white text where ``dark`` (bool (rows, cols))."""
        values = np.asarray(values)
        longest = max((len(fmt.format(v)) for v in values.flat), default=1)
        size = int(np.clip(min(self.cell * 0.42, self.cell * 1.5 / longest), 7, 15))
        for (i, j), value in np.ndenumerate(values):
            x0, y0, x1, y1 = self.box(self.first_row + i, self.first_col + j)
            colour = "white" if dark is not None and dark[i, j] else "black"
            self.canvas.text((x0 + x1) / 2, (y0 + y1) / 2, fmt.format(value), size, colour)

    def ticks(self) -> None:
        """Row numbers on the left, column numbers below, and the words "row", "column"
        (every second number when the cells are small, as matplotlib would)."""
        size = int(np.clip(self.cell * 0.45, 8, 11))
        step = 1 if self.cell >= 16 else 2
        x0, y0, x1, y1 = self.box(self.first_row, self.first_col, self.rows, self.cols)
        for i in range(0, self.rows, step):
            _, top, _, bottom = self.box(self.first_row + i, self.first_col)
            self.canvas.text(x0 - 4, (top + bottom) / 2, str(self.first_row + i), size,
                             anchor="rm")
        for j in range(0, self.cols, step):
            left, _, right, _ = self.box(self.first_row, self.first_col + j)
            self.canvas.text((left + right) / 2, y1 + 4, str(self.first_col + j), size,
                             anchor="ma")
        self.canvas.text((x0 + x1) / 2, y1 + 18, "column", 11, anchor="ma")
        self.canvas.vertical_text(x0 - 28, (y0 + y1) / 2, "row", 11)

    def outline(self, row: float, col: float, height: float, width: float, colour,
                line_width: int = 2, dashed: bool = False) -> None:
        """A rectangle around cells rows row.., cols col.., centred on their borders."""
        x0, y0, x1, y1 = self.box(row, col, height, width)
        fill = _rgb(colour)
        if not dashed:  # PIL draws a rectangle's outline inside its box: widen the box
            half = line_width // 2
            box = [x0 - half, y0 - half, x1 + line_width - half - 1, y1 + line_width - half - 1]
            self.canvas.draw.rectangle(box, outline=fill, width=line_width)
            return
        corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
        for (ax, ay), (bx, by) in zip(corners, corners[1:]):
            length = max(abs(bx - ax), abs(by - ay))
            for start in range(0, length, 10):  # dashes: 6 pixels on, 4 off
                p, q = start / length, min(start + 6, length) / length
                self.canvas.draw.line([(ax + (bx - ax) * p, ay + (by - ay) * p),
                                       (ax + (bx - ax) * q, ay + (by - ay) * q)],
                                      fill=fill, width=line_width)
