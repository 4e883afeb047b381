"""Images out of the package: [-1, 1] -> uint8, grids, PNG/GIF files and matplotlib helpers.

Inside the package images are NHWC float32 in [-1, 1]; this module (and `export.py`) is the only
place they become uint8, with the official conversion `round(x * 127.5 + 127.5)` clipped to
[0, 255] (NVlabs `convert_images_to_uint8`: x * 127.5 + 127.5 + 0.5, saturating cast).
Files are written to a temporary name and renamed, so a crash never leaves half an image.
matplotlib is imported only by the `show_*` helpers.
"""

import os

import numpy as np

__all__ = ["to_uint8", "image_grid", "labelled_grid", "std_to_uint8", "save_png", "save_gif", "show_images",
           "show_grid"]


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


def std_to_uint8(std, scale=None):
    """A per-pixel standard deviation map `[H, W]` -> uint8 `[H, W, 1]`, scaled so its maximum is white.

    `scale` (default: 1 / max, or 1 where the map is all zeros) multiplies the std before clipping to [0, 1].
    """
    std = np.asarray(std, np.float64)
    if scale is None:
        top = float(std.max()) if std.size else 0.0
        scale = 1.0 / top if top > 0 else 1.0
    return np.clip(np.rint(std * scale * 255.0), 0, 255).astype(np.uint8)[..., None]


def _write_atomic(path, write):
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


def save_png(path, image):
    """Writes one image (`[H, W, C]`, float in [-1, 1] or uint8) as PNG; returns the path."""
    pil = _pil(image)
    return _write_atomic(path, lambda tmp: pil.save(tmp, format="PNG"))


def save_gif(path, frames, duration_ms=80, loop=0):
    """Writes frames `[T, H, W, C]` (float in [-1, 1] or uint8) as an animated GIF looping `loop` times (0: forever)."""
    frames = [_pil(f) for f in _as_uint8(frames)]
    if not frames:
        raise ValueError("save_gif needs at least one frame")
    return _write_atomic(path, lambda tmp: frames[0].save(
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
