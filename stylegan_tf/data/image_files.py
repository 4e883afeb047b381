"""Reading users' images for `prepare`: listing a folder or .zip, bounded reads, decoding to RGB.

Nothing is dropped silently: every entry that is not read gets a reason in words in the skipped
list:

    both     hidden files and folders (names starting with ".", e.g. `.DS_Store`, `__MACOSX/._x.png`;
             a hidden folder is listed once, its contents are not read)
    folder   symbolic link loops, dangling links, links to folders (not followed), FIFOs, sockets and
             devices (never opened: reading a FIFO would block), unreadable sub-folders, and folders
             named like an image (`x.png/`; their contents are still read)
    .zip     members whose path is absolute or contains `..`, folders named like an image; a damaged
             archive (e.g. truncated, so its table of contents is gone) is an error that says so

Limits, so that a small hostile file cannot exhaust memory:

    MAX_PIXELS = 2**25 (33.6 Mpx, e.g. 6000 x 5600): an image declaring more is skipped before it is
        decoded (Pillow's own limit, 89.5 Mpx, only warns; 179 Mpx is its error). Raise it with
        `prepare --max-pixels N` (the official dataset_tool has no limit).
    MAX_FILE_BYTES = 256 MiB: a larger file or zip member is skipped; zip members are read through a
        bounded stream, so a member whose header understates its size cannot grow past the bound.
"""

import errno
import io
import os
import re
import stat
import warnings
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
MAX_PIXELS = 2**25
MAX_FILE_BYTES = 256 * 2**20
HIDDEN = "hidden (its name starts with '.'); not read"


class Unusable(Exception):
    """An entry that cannot be used; its message is the reason, in words, for the skipped list."""


def list_source(src):
    """Returns (names, read, skipped) for a folder (recursive) or a .zip.

    `names` are the readable entries (sorted relative paths), `read(name) -> bytes` reads one within
    MAX_FILE_BYTES (raising Unusable past it), and `skipped` is a list of (name, reason) for entries
    that cannot be images at all (see the module docstring).
    """
    src = Path(src)
    if not src.exists():
        raise FileNotFoundError(f"source {src} does not exist; give a folder or a .zip of images")
    if src.is_dir():
        return _list_folder(src)
    if not zipfile.is_zipfile(src):
        if _looks_like_zip(src):
            raise ValueError(f"source {src} is a damaged .zip file (truncated, or its table of contents is "
                             f"unreadable); copy or download it again, or unpack what is left into a folder")
        raise ValueError(f"source {src} is neither a folder nor a .zip file")
    try:
        return _list_zip(src)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ValueError(f"source {src} is a damaged .zip file ({' '.join(str(e).split())[:120]}); copy or "
                         f"download it again") from None


def _looks_like_zip(path):
    """True for a file named .zip or starting with a zip member's signature (what a truncated archive keeps)."""
    if str(path).lower().endswith(".zip"):
        return True
    try:
        with open(path, "rb") as f:
            return f.read(4) in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
    except OSError:
        return False



def _list_folder(src):
    names, skipped = [], []

    def unreadable(e):
        skipped.append((os.path.relpath(e.filename, src), f"unreadable folder ({e.strerror}); its images are not read"))

    for root, dirs, files in os.walk(src, onerror=unreadable):  # does not follow links to folders
        kept = []
        for d in dirs:
            path, rel = os.path.join(root, d), os.path.relpath(os.path.join(root, d), src)
            if d.startswith("."):
                skipped.append((rel, "hidden folder (its name starts with '.'); its files are not read"))
                continue
            if os.path.islink(path):
                skipped.append((rel, "symbolic link to a folder (not followed)"))
                continue
            if d.lower().endswith(IMAGE_EXTENSIONS):
                skipped.append((rel, "a folder named like an image, not an image file (its contents are read)"))
            kept.append(d)
        dirs[:] = kept
        for f in files:
            path = os.path.join(root, f)
            if f.startswith("."):
                skipped.append((os.path.relpath(path, src), HIDDEN))
                continue
            reason = _not_a_file(path)
            (skipped.append((os.path.relpath(path, src), reason)) if reason else
             names.append(os.path.relpath(path, src)))

    def read(name):
        path = src / name
        size = os.stat(path).st_size
        if size > MAX_FILE_BYTES:
            raise Unusable(_too_big(size))
        with open(path, "rb") as f:
            return _bounded(f)

    return sorted(names), read, sorted(skipped)


def _not_a_file(path):
    """None for a regular file (or a link to one), else why it is not read."""
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        try:
            mode = os.stat(path).st_mode
        except OSError as e:
            if e.errno == errno.ELOOP:
                return "symbolic link loop"
            if e.errno == errno.ENOENT:
                return "dangling symbolic link (its target does not exist)"
            return f"symbolic link whose target cannot be read ({e.strerror})"
    if stat.S_ISREG(mode):
        return None
    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else
            "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a folder" if stat.S_ISDIR(mode) else
            "a special file")
    return f"{kind}, not a regular file (not opened)"


def _list_zip(src):
    archive = zipfile.ZipFile(src)
    names, skipped, hidden = [], [], set()
    for info in archive.infolist():
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", name):
            skipped.append((name, "unsafe path in the archive (absolute or containing '..'); not read"))
        elif any(p.startswith(".") for p in parts[:-1] if p):  # in a hidden folder: the folder is listed once
            top = "/".join(parts[: next(i for i, p in enumerate(parts) if p.startswith(".")) + 1]) + "/"
            if top not in hidden:
                hidden.add(top)
                skipped.append((top, "hidden folder (its name starts with '.'); its files are not read"))
        elif parts[-1].startswith("."):
            skipped.append((name, HIDDEN))  # e.g. .DS_Store, __MACOSX/._x.png
        elif info.is_dir():
            if name.rstrip("/").lower().endswith(IMAGE_EXTENSIONS):
                skipped.append((name, "a folder named like an image, not an image file (its contents are read)"))
        elif info.file_size > MAX_FILE_BYTES:
            skipped.append((name, _too_big(info.file_size)))
        else:
            names.append(name)

    def read(name):
        with archive.open(name) as f:
            return _bounded(f)

    return sorted(names), read, sorted(skipped)


def _bounded(f):
    data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise Unusable(_too_big(f"more than {MAX_FILE_BYTES}"))
    return data


def _too_big(size):
    limit = f"{MAX_FILE_BYTES // 2**20} MiB" if MAX_FILE_BYTES >= 2**20 else f"{MAX_FILE_BYTES} bytes"
    return f"{size} bytes, more than the limit of {limit} for one image file"


def load_rgb(data, max_pixels=MAX_PIXELS):
    """Decodes image bytes to an upright uint8 RGB array [H, W, 3] (EXIF rotation, any Pillow mode).

    Raises:
        Unusable: the image declares more than `max_pixels` pixels (checked before decoding).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own, lower limit applies
        try:
            img = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError:
            raise Unusable(_too_many(None, max_pixels)) from None
    with img:
        w, h = img.size
        if w * h > max_pixels:
            raise Unusable(_too_many((w, h), max_pixels))
        img.load()  # decode now, so truncated files fail here
        img = ImageOps.exif_transpose(img)
        if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16/32-bit grey: PNGs hold 0..65535
            grey = np.asarray(img, np.float64)
            scale = 255.0 / 65535.0 if grey.max() > 255 or img.mode.startswith("I;16") else 1.0
            img = Image.fromarray(np.rint(grey * scale).clip(0, 255).astype(np.uint8), "L")
        if img.mode == "P":
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):  # composite over black, like --pad's border
            rgba = img.convert("RGBA")
            img = Image.new("RGB", rgba.size)
            img.paste(rgba, mask=rgba.getchannel("A"))
        return np.asarray(img.convert("RGB"))


def _too_many(size, max_pixels):
    declared = f"declares {size[0]}x{size[1]} = {size[0] * size[1] / 1e6:.1f} Mpx" if size else "declares a huge size"
    return (f"{declared}, more than the limit of {max_pixels / 1e6:.1f} Mpx (not decoded); raise it with "
            f"--max-pixels if the image is genuine")


def reason(error) -> str:
    """Why a file could not be used, in words (never an object's repr)."""
    if isinstance(error, Unusable):
        return str(error)
    if isinstance(error, UnidentifiedImageError):
        return "not an image Pillow can read (unknown format or damaged header)"
    if isinstance(error, PermissionError):
        return "cannot be read (permission denied)"
    if isinstance(error, zipfile.BadZipFile) or type(error).__name__ == "BadZipFile":
        return f"damaged zip member ({error})"
    message = re.sub(r"<[^<>]* at 0x[0-9a-fA-F]+>", "the data", " ".join(str(error).split()))
    if isinstance(error, OSError) and "truncated" in message:
        return "truncated image data"
    if isinstance(error, OSError) and error.strerror:
        return f"cannot be read ({error.strerror})"
    return f"cannot be decoded ({type(error).__name__}: {message[:120]})"
