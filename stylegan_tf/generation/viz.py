"""Images out of the package: [-1, 1] -> uint8, grids, PNG/GIF files and matplotlib helpers.

Inside the package images are NHWC float32 in [-1, 1]; this module (and `export.py`) is the only
place they become uint8, with the official conversion `round(x * 127.5 + 127.5)` clipped to
[0, 255] (NVlabs `convert_images_to_uint8`: x * 127.5 + 127.5 + 0.5, saturating cast).
Files are written to a temporary name and renamed, so a crash never leaves half an image.
matplotlib is imported only by the `show_*` helpers and the std map's colour-bar figure.
"""

import os

import numpy as np

__all__ = ["to_uint8", "image_grid", "labelled_grid", "annotated_figure", "upscale", "std_to_uint8", "std_map_figure",
           "figure_to_uint8", "save_figure", "save_png", "save_gif", "write_atomic", "show_images", "show_grid"]

MIN_CELL = 128  # figures for people: cells are nearest-upscaled to at least this many pixels


def to_uint8(images):
    """float images in [-1, 1] (any shape, tensor or array) -> uint8 in [0, 255]: round(x * 127.5 + 127.5)."""
    x = np.asarray(images, dtype=np.float32)
    return np.clip(np.rint(x * 127.5 + 127.5), 0, 255).astype(np.uint8)


def _as_uint8(images):
    images = np.asarray(images)
    return images if images.dtype == np.uint8 else to_uint8(images)


def image_grid(images, cols=None, pad=0, pad_value=255):
    """Tiles images into one uint8 image.

    Args:
        images: `[N, H, W, C]` (laid out row by row, `cols` per row) or `[rows, cols, H, W, C]`;
            float in [-1, 1] or uint8.
        cols: Images per row for a flat batch (default: all in one row).
        pad: Pixels between tiles.
        pad_value: uint8 value of the padding.

    Returns:
        uint8 array `[rows * (H + pad) - pad, cols * (W + pad) - pad, C]`.
    """
    images = _as_uint8(images)
    if images.ndim == 4:
        n = images.shape[0]
        cols = n if cols is None else int(cols)
        if cols < 1:
            raise ValueError(f"cols must be >= 1, got {cols}")
        rows = -(-n // cols)
        blank = np.full((rows * cols - n, *images.shape[1:]), pad_value, np.uint8)
        images = np.concatenate([images, blank]).reshape(rows, cols, *images.shape[1:])  # [rows, cols, H, W, C]
    if images.ndim != 5:
        raise ValueError(f"images must be [N, H, W, C] or [rows, cols, H, W, C], got shape {images.shape}")
    rows, cols, h, w, c = images.shape
    grid = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad, c), pad_value, np.uint8)
    for i in range(rows):
        for j in range(cols):
            grid[i * (h + pad): i * (h + pad) + h, j * (w + pad): j * (w + pad) + w] = images[i, j]
    return grid


def labelled_grid(images, top=None, left=None, pad=0, pad_value=255):
    """The paper's figure layout: a row of images across the top, a column down the side, the grid inside.

    Args:
        images: `[rows, cols, H, W, C]`.
        top: Optional `[cols, H, W, C]` shown above the grid (e.g. the mixing sources).
        left: Optional `[rows, H, W, C]` shown left of the grid (e.g. the destinations).
        pad, pad_value: As in `image_grid`. The top-left corner is left blank (white).

    Returns:
        A uint8 image.
    """
    images = _as_uint8(images)
    rows, cols = images.shape[:2]
    blank = np.full((1, *images.shape[2:]), 255, np.uint8)
    if left is not None:
        images = np.concatenate([_as_uint8(left)[:, None], images], axis=1)  # [rows, 1 + cols, H, W, C]
    if top is not None:
        head = _as_uint8(top)[None]  # [1, cols, H, W, C]
        if left is not None:
            head = np.concatenate([blank[None], head], axis=1)
        images = np.concatenate([head, images], axis=0)
    return image_grid(images, pad=pad, pad_value=pad_value)


def upscale(images, min_size=MIN_CELL):
    """Nearest-neighbour upscaling of `[..., H, W, C]` by the smallest integer factor that reaches `min_size` px."""
    images = _as_uint8(images)
    factor = max(1, -(-int(min_size) // images.shape[-3]))
    return images.repeat(factor, axis=-3).repeat(factor, axis=-2)


def annotated_figure(images, row_labels=None, col_labels=None, title=None, cell=MIN_CELL, pad=2, font_size=14):
    """A figure people can read: a grid with row and column labels (and a title), cells upscaled.

    Args:
        images: `[rows, cols, H, W, C]` (C = 1 or 3), float in [-1, 1] or uint8. Blank cells: pass
            white images (e.g. the corner of a mixing figure).
        row_labels: One string per row (may hold "\n"), written left of the row.
        col_labels: One string per column, written above it.
        title: A line above everything.
        cell: Cells are nearest-upscaled to at least this many pixels (`upscale`).
        pad, font_size: Pixels between cells; label size.

    Returns:
        uint8 `[H', W', 3]`.
    """
    from PIL import Image, ImageDraw, ImageFont

    images = upscale(images, cell)
    if images.ndim != 5:
        raise ValueError(f"images must be [rows, cols, H, W, C], got shape {images.shape}")
    rows, cols, h, w, c = images.shape
    for name, labels, n in (("row_labels", row_labels, rows), ("col_labels", col_labels, cols)):
        if labels is not None and len(labels) != n:
            raise ValueError(f"{name} has {len(labels)} entries for {n} {name[:3]}s")
    grid = image_grid(images, pad=pad)
    grid = np.repeat(grid, 3, axis=-1) if c == 1 else grid[..., :3]
    font = ImageFont.load_default(size=font_size)
    line = font_size + 4

    def size(text):  # (width, height) of possibly multi-line text
        lines = str(text).split("\n")
        return max(font.getbbox(t)[2] for t in lines), line * len(lines)

    left = 8 + max(size(t)[0] for t in row_labels) + 8 if row_labels else 0
    top = 4 + max(size(t)[1] for t in col_labels) if col_labels else 0
    head = line + 6 if title else 0
    canvas = Image.new("RGB", (left + grid.shape[1], head + top + grid.shape[0]), "white")
    canvas.paste(Image.fromarray(grid), (left, head + top))
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((left + 2, 3), str(title), fill="black", font=font)
    for j, text in enumerate(col_labels or []):
        tw, th = size(text)
        x = left + j * (w + pad) + (w - tw) // 2
        draw.multiline_text((max(x, left), head + top - th), str(text), fill="black", font=font, spacing=4)
    for i, text in enumerate(row_labels or []):
        tw, th = size(text)
        y = head + top + i * (h + pad) + (h - th) // 2
        draw.multiline_text((left - 8 - tw, y), str(text), fill="black", font=font, spacing=4, align="right")
    return np.asarray(canvas)


def std_to_uint8(std, scale=None):
    """A per-pixel standard deviation map `[H, W]` -> uint8 `[H, W, 1]`, scaled so its maximum is white.

    `scale` (default: 1 / max, or 1 where the map is all zeros) multiplies the std before clipping to [0, 1].
    """
    std = np.asarray(std, np.float64)
    if scale is None:
        top = float(std.max()) if std.size else 0.0
        scale = 1.0 / top if top > 0 else 1.0
    return np.clip(np.rint(std * scale * 255.0), 0, 255).astype(np.uint8)[..., None]


def std_map_figure(std, title=None, label="std of the pixel values (images in [-1, 1])", cell=MIN_CELL * 2):
    """A std map `[H, W]` as a matplotlib `Figure` with a colour bar in the std's own units.

    The map is drawn as `std_to_uint8` scales it (0 black, its maximum white, nearest neighbour, at least
    `cell` px across) and the colour bar beside it reads a grey level back as a standard deviation. Drawn on
    a bare `matplotlib.figure.Figure` (no pyplot): writing it neither needs a display nor changes a notebook's
    backend. `save_figure` writes it; `figure_to_uint8` renders it for `annotated_figure` or a widget.
    """
    from matplotlib.figure import Figure

    std = np.asarray(std, np.float64)
    if std.ndim != 2:
        raise ValueError(f"a std map must be [H, W], got shape {std.shape}")
    top = float(std.max()) if std.size else 0.0
    inches = max(cell / 100.0, 1.0)
    fig = Figure(figsize=(inches + 1.9, inches + (0.5 if title else 0.2)), dpi=100)
    ax = fig.subplots()
    im = ax.imshow(std, cmap="gray", vmin=0.0, vmax=top if top > 0 else 1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(str(title), fontsize=9)
    bar = fig.colorbar(im, ax=ax, fraction=0.08, pad=0.04)
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def figure_to_uint8(fig):
    """Renders a matplotlib `Figure` (no pyplot needed) to uint8 `[H, W, 3]`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def save_figure(path, fig, text=None):
    """Writes a matplotlib `Figure` as PNG (atomically, like `save_png`, with optional tEXt chunks); returns the path."""
    return save_png(path, figure_to_uint8(fig), text=text)


def write_atomic(path, write):
    """Calls `write(tmp)` on a temporary name in `path`'s folder (created if missing), then renames it to `path`."""
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    root, ext = os.path.splitext(os.path.basename(path))
    tmp = os.path.join(folder, f".tmp-{os.getpid()}-{root}{ext}")  # keeps the suffix Pillow reads the format from
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _pil(image):
    from PIL import Image

    image = _as_uint8(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (3, 4)):
        raise ValueError(f"an image must be [H, W], [H, W, 1], [H, W, 3] or [H, W, 4], got shape {image.shape}")
    return Image.fromarray(image)


def save_png(path, image, text=None):
    """Writes one image (`[H, W, C]`, float in [-1, 1] or uint8) as PNG; returns the path.

    `text`: optional {key: value} written as the PNG's tEXt chunks (e.g. "Title"), read back by
    `PIL.Image.open(path).text`.
    """
    pil = _pil(image)
    info = None
    if text:
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for key, value in text.items():
            info.add_text(str(key), str(value))
    return write_atomic(path, lambda tmp: pil.save(tmp, format="PNG", pnginfo=info))


def save_gif(path, frames, duration_ms=80, loop=0):
    """Writes frames `[T, H, W, C]` (float in [-1, 1] or uint8) as an animated GIF looping `loop` times (0: forever)."""
    frames = [_pil(f) for f in _as_uint8(frames)]
    if not frames:
        raise ValueError("save_gif needs at least one frame")
    return write_atomic(path, lambda tmp: frames[0].save(
        tmp, format="GIF", save_all=True, append_images=frames[1:], duration=int(duration_ms), loop=int(loop)))


def show_images(images, titles=None, cols=None, size=2.0):
    """Shows a batch `[N, H, W, C]` side by side with optional titles (notebooks); returns the figure."""
    import matplotlib.pyplot as plt

    images = _as_uint8(images)
    n = len(images)
    cols = min(n, cols or n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            img = images[k]
            ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=255)
            if titles is not None:
                ax.set_title(str(titles[k]), fontsize=9)
    fig.tight_layout()
    return fig


def show_grid(image, title=None, size=6.0):
    """Shows one (grid) image, e.g. from `image_grid` or `labelled_grid` (notebooks); returns the figure."""
    import matplotlib.pyplot as plt

    image = _as_uint8(image)
    h, w = image.shape[:2]
    fig, ax = plt.subplots(figsize=(size, size * h / w))
    ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=255)
    ax.axis("off")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
