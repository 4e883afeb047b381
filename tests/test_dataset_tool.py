"""`prepare`: image modes, bad inputs, crop/pad, official box-filtered levels, interrupted runs."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stylegan_tf import cli
from stylegan_tf.data import pipeline, prepare

R = 16


def _solid(mode, size, color):
    return Image.new(mode, size, color)


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    """A folder with one usable image per awkward kind, and one file per kind of bad input."""
    root = tmp_path_factory.mktemp("src")
    (root / "sub" / "deeper").mkdir(parents=True)
    _solid("RGB", (24, 20), (200, 30, 30)).save(root / "a_rgb.jpg", quality=98)
    _solid("L", (20, 20), 100).save(root / "b_grey.webp", lossless=True)
    rgba = _solid("RGBA", (20, 20), (0, 0, 255, 255))
    rgba.paste((0, 255, 0, 0), (0, 0, 20, 10))  # transparent top half -> black
    rgba.save(root / "sub" / "c_rgba.png")
    _solid("LA", (20, 20), (50, 255)).save(root / "sub" / "d_la.png")
    _solid("RGB", (20, 20), (0, 255, 0)).quantize(4).save(root / "sub" / "deeper" / "e_palette.bmp")
    Image.fromarray(np.full((20, 20), 32768, np.uint16)).save(root / "f_16bit.png")  # I;16, half grey
    _solid("CMYK", (20, 20), (0, 255, 255, 0)).save(root / "g_cmyk.jpg", quality=98)
    # EXIF orientation 6: stored landscape red|blue must be shown rotated 90 degrees clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated = _solid("RGB", (40, 20), (255, 0, 0))
    rotated.paste((0, 0, 255), (20, 0, 40, 20))
    rotated.save(root / "h_exif.jpg", quality=98, exif=exif)
    # bad inputs
    (root / "x_corrupt.jpg").write_bytes(os.urandom(300))
    png = root / "y_truncated.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(png)
    png.write_bytes(png.read_bytes()[:400])
    (root / "notes.txt").write_text("not an image")
    _solid("RGB", (30, 8), (9, 9, 9)).save(root / "z_small.png")  # 8 px high: too small to crop to 16
    (root / ".hidden.jpg").write_bytes(b"ignored")
    return root


GOOD = ["a_rgb.jpg", "b_grey.webp", "f_16bit.png", "g_cmyk.jpg", "h_exif.jpg",
        "sub/c_rgba.png", "sub/d_la.png", "sub/deeper/e_palette.bmp"]  # the order prepare writes (sorted)
BAD = {"notes.txt": "not an image", "x_corrupt.jpg": "not an image Pillow can read", "y_truncated.png": "truncated",
       "z_small.png": "smaller than 16", ".hidden.jpg": "hidden (its name starts with '.'); not read"}


def _read_levels(folder, resolution):
    """All images of one level, in stored order, as uint8 [N, r, r, 3]."""
    n = pipeline.dataset_info(folder)["num_images"]
    ds = pipeline.make_dataset(folder, resolution, n, shuffle=False, repeat=False, mirror_augment=False)
    return np.rint((next(iter(ds)).numpy() + 1) * 127.5).astype(np.int32)


@pytest.fixture(scope="module")
def prepared(src, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "ds"
    return prepare.prepare_dataset(src, out, R, progress=False)


def test_lenient_prepare_converts_every_mode_and_lists_skipped_files(prepared):
    assert prepared["num_images"] == len(GOOD)
    skipped = dict(prepared["skipped"])
    assert set(skipped) == set(BAD)
    for name, reason in BAD.items():
        assert reason in skipped[name]
    images = _read_levels(prepared["out_dir"], R)
    centre = {name: images[i, 6:10, 6:10].reshape(-1, 3).mean(axis=0) for i, name in enumerate(GOOD)}
    expected = {"a_rgb.jpg": (200, 30, 30), "b_grey.webp": (100, 100, 100), "f_16bit.png": (128, 128, 128),
                "g_cmyk.jpg": (255, 0, 0), "sub/d_la.png": (50, 50, 50), "sub/deeper/e_palette.bmp": (0, 255, 0)}
    for name, rgb in expected.items():
        np.testing.assert_allclose(centre[name], rgb, atol=6, err_msg=name)
    rgba = images[GOOD.index("sub/c_rgba.png")]
    np.testing.assert_allclose(rgba[1, 8], (0, 0, 0), atol=2)  # transparent -> black
    np.testing.assert_allclose(rgba[14, 8], (0, 0, 255), atol=2)
    exif = images[GOOD.index("h_exif.jpg")]  # upright: red on top, blue below (not left/right)
    assert exif[2, 8, 0] > 200 and exif[2, 8, 2] < 60
    assert exif[13, 8, 2] > 200 and exif[13, 8, 0] < 60
    assert np.abs(exif[2, 2].astype(int) - exif[2, 13]).max() < 30


def test_levels_are_official_box_averages(prepared):
    top = _read_levels(prepared["out_dir"], R).astype(np.float64)
    meta = pipeline.dataset_info(prepared["out_dir"])
    assert meta["levels"] == [4, 8, 16]
    for r in (8, 4):
        k = R // r
        # float averaging carried through the levels, rounded once = rounding the k x k block mean
        expected = np.rint(top.reshape(-1, r, k, r, k, 3).mean(axis=(2, 4)))
        np.testing.assert_array_equal(_read_levels(prepared["out_dir"], r), expected)


def test_strict_stops_at_the_first_bad_file(src, tmp_path):
    with pytest.raises(ValueError, match="notes.txt.*--strict"):
        prepare.prepare_dataset(src, tmp_path / "ds", R, strict=True, progress=False)
    assert not (tmp_path / "ds" / "dataset.json").exists()


def test_empty_and_unusable_sources(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="is empty"):
        prepare.prepare_dataset(tmp_path / "empty", tmp_path / "o1", R, progress=False)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.png").write_bytes(b"no png")
    _solid("RGB", (4, 4), 0).save(tmp_path / "junk" / "tiny.png")
    with pytest.raises(ValueError, match="no usable image.*a.png"):
        prepare.prepare_dataset(tmp_path / "junk", tmp_path / "o2", R, progress=False)
    with pytest.raises(FileNotFoundError, match="missing"):
        prepare.prepare_dataset(tmp_path / "missing", tmp_path / "o3", R, progress=False)
    (tmp_path / "o4").mkdir()
    (tmp_path / "o4" / "mine.txt").write_text("keep me")
    _solid("RGB", (16, 16), 0).save(tmp_path / "junk" / "ok.png")
    with pytest.raises(ValueError, match="mine.txt"):  # never deletes files prepare did not write
        prepare.prepare_dataset(tmp_path / "junk", tmp_path / "o4", R, progress=False)


def test_zip_source_and_pad(src, tmp_path):
    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in GOOD:
            zf.write(src / name, name)
    assert prepare.prepare_dataset(archive, tmp_path / "z", R, progress=False)["num_images"] == len(GOOD)
    # a wide image: red | green | blue thirds. Cropping keeps the green middle; padding keeps all, in black bars
    wide = np.zeros((16, 48, 3), np.uint8)
    wide[:, :16, 0], wide[:, 16:32, 1], wide[:, 32:, 2] = 255, 255, 255
    (tmp_path / "wide").mkdir()
    Image.fromarray(wide).save(tmp_path / "wide" / "w.png")
    cropped = _read_levels(prepare.prepare_dataset(tmp_path / "wide", tmp_path / "c", R, progress=False)
                           ["out_dir"], R)[0]
    assert (cropped[..., 1] > 250).all()
    with pytest.raises(ValueError, match="48x16 is smaller than 64"):  # padding needs the long side >= R
        prepare.prepare_dataset(tmp_path / "wide", tmp_path / "p0", 64, pad=True, strict=True, progress=False)
    padded = _read_levels(prepare.prepare_dataset(tmp_path / "wide", tmp_path / "p", R, pad=True,
                                                       progress=False)["out_dir"], R)[0]
    assert padded[0].max() < 5 and padded[-1].max() < 5  # letterbox bars
    assert padded[8, 0, 0] > 200 and padded[8, 8, 1] > 200 and padded[8, 15, 2] > 200


def test_interrupted_prepare_leaves_no_dataset_and_rerun_completes(src, tmp_path, monkeypatch):
    out = tmp_path / "ds"
    add = prepare.DatasetWriter.add

    def failing_add(self, image, index=None):
        if self.num_images == 3:
            raise KeyboardInterrupt
        add(self, image, index)

    monkeypatch.setattr(prepare.DatasetWriter, "add", failing_add)
    with pytest.raises(KeyboardInterrupt):
        prepare.prepare_dataset(src, out, R, images_per_shard=2, progress=False)
    assert not list(out.glob("*.tmp")) and not (out / "dataset.json").exists()
    with pytest.raises(FileNotFoundError, match="interrupted"):
        pipeline.dataset_info(out)
    monkeypatch.setattr(prepare.DatasetWriter, "add", add)
    assert prepare.prepare_dataset(src, out, R, images_per_shard=2, progress=False)["num_images"] == len(GOOD)


def test_killed_prepare_then_rerun(src, tmp_path):
    """SIGKILL half way (no cleanup can run): the folder is not a dataset; prepare again finishes it."""
    out = tmp_path / "ds"
    script = (
        "import os, signal, sys\n"
        "from stylegan_tf.data import prepare as t\n"
        "add = t.DatasetWriter.add\n"
        "def killing_add(self, image, index=None):\n"
        "    if self.num_images == 5: os.kill(os.getpid(), signal.SIGKILL)\n"
        "    add(self, image, index)\n"
        "t.DatasetWriter.add = killing_add\n"
        "t.prepare_dataset(sys.argv[1], sys.argv[2], 16, images_per_shard=2, progress=False)\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", script, str(src), str(out)], env=env, capture_output=True)
    assert proc.returncode == -9
    assert list(out.glob("*.tmp")) and list(out.glob("r0016-*.tfrecord"))  # half a dataset on disk ...
    with pytest.raises(FileNotFoundError, match="not a complete prepared dataset"):  # ... that is refused
        pipeline.make_dataset(out, R, 2)
    summary = prepare.prepare_dataset(src, out, R, images_per_shard=2, progress=False)
    assert summary["num_images"] == len(GOOD)
    assert not list(out.glob("*.tmp"))
    shards = {name for names in summary["meta"]["shards"].values() for name in names}
    assert {p.name for p in out.glob("*.tfrecord")} == shards  # no stale shards of the killed run
    assert len(_read_levels(out, R)) == len(GOOD)


def test_cli_prepare(src, tmp_path, capsys):
    assert cli.main(["prepare", str(src), str(tmp_path / "ds"), "--resolution", "16"]) == 0
    out = capsys.readouterr().out
    assert f"wrote {len(GOOD)} images at 4, 8, 16 px" in out and "skipped 5 file(s)" in out and "z_small.png" in out
    assert "  .hidden.jpg: hidden" in out
    (tmp_path / "empty").mkdir()
    assert cli.main(["prepare", str(tmp_path / "empty"), str(tmp_path / "o"), "--resolution", "16"]) == 2
    assert "error: source" in capsys.readouterr().err
    assert Path(tmp_path / "ds" / "dataset.json").exists()


# -- hostile inputs: nothing silent, bounded memory, one-line errors ---------------------------------------
def _png_declaring(width, height):
    """A tiny valid 1x1 PNG whose header is rewritten to declare width x height (a decompression bomb's header)."""
    import io
    import struct
    import zlib

    buf = io.BytesIO()
    _solid("RGB", (1, 1), (1, 2, 3)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    ihdr = data[12:29]  # b"IHDR" + 13 bytes
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return bytes(data)


def test_every_odd_entry_is_listed_with_a_reason_in_words(tmp_path, monkeypatch):
    root = tmp_path / "odd"
    (root / "locked").mkdir(parents=True)
    _solid("RGB", (20, 20), (1, 2, 3)).save(root / "good.png")
    _solid("RGB", (20, 20), (1, 2, 3)).save(root / "locked" / "inside.png")
    os.symlink("loop_b.png", root / "loop_a.png")
    os.symlink("loop_a.png", root / "loop_b.png")
    os.symlink("missing.png", root / "dangling.png")
    os.symlink(root / "locked", root / "linked_dir")
    os.mkfifo(root / "pipe.png")
    (root / "folder.png").mkdir()
    _solid("RGB", (20, 20), (1, 2, 3)).save(root / "folder.png" / "nested.png")
    (root / "bomb.png").write_bytes(_png_declaring(12_000, 12_000))  # 144 Mpx declared in ~70 bytes
    (root / "random.jpg").write_bytes(os.urandom(64))
    (root / ".cache").mkdir()
    _solid("RGB", (20, 20), (1, 2, 3)).save(root / ".cache" / "thumb.png")
    (root / "folder.png" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    scandir = os.scandir

    def locked(path):  # as a non-root user without read permission would see it (root reads everything)
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", locked)
    summary = prepare.prepare_dataset(root, tmp_path / "out", R, progress=False)
    skipped = dict(summary["skipped"])
    expected = {"loop_a.png": "symbolic link loop", "loop_b.png": "symbolic link loop",
                "dangling.png": "dangling symbolic link", "linked_dir": "link to a folder",
                "pipe.png": "FIFO", "folder.png": "folder named like an image", "locked": "unreadable folder",
                "bomb.png": "12000x12000 = 144.0 Mpx, more than the limit of 33.6 Mpx",
                "random.jpg": "not an image Pillow can read",
                ".cache": "hidden folder (its name starts with '.'); its files are not read",
                "folder.png/.DS_Store": "hidden (its name starts with '.')"}
    for name, words in expected.items():
        assert words in skipped.get(name, ""), (name, skipped.get(name))
    assert set(skipped) == set(expected)
    assert summary["num_images"] == 2  # good.png and folder.png/nested.png
    assert not any(" at 0x" in r or "<" in r for r in skipped.values())
    again = prepare.prepare_dataset(root, tmp_path / "out2", R, progress=False, max_pixels=200_000_000)
    assert "bomb.png" in dict(again["skipped"]) and "limit" not in dict(again["skipped"])["bomb.png"]  # decoded, fails
    with pytest.raises(ValueError, match="dangling.png: dangling symbolic link"):  # the first, sorted
        prepare.prepare_dataset(root, tmp_path / "out3", R, strict=True, progress=False)


def test_zip_members_with_dot_dot_or_too_large_are_listed_and_read_within_a_bound(tmp_path, monkeypatch):
    from stylegan_tf.data import image_files

    archive = tmp_path / "a.zip"
    good = tmp_path / "good.png"
    _solid("RGB", (20, 20), (1, 2, 3)).save(good)
    with zipfile.ZipFile(archive, "w") as z:
        z.write(good, "ok.png")
        z.write(good, "../escape.png")
        z.write(good, "dir.png/inner.png")
        z.writestr("dir.png/", b"")
        z.writestr("big.png", b"\0" * 5000)
        z.writestr(".DS_Store", b"\0\0\0\1Bud1")
        z.write(good, "__MACOSX/._ok.png")  # what macOS's Archive Utility adds next to each file
        z.write(good, ".git/a.png")
        z.write(good, ".git/b.png")
    monkeypatch.setattr(image_files, "MAX_FILE_BYTES", 4096)
    summary = prepare.prepare_dataset(archive, tmp_path / "out", R, progress=False)
    skipped = dict(summary["skipped"])
    assert "'..'" in skipped["../escape.png"] and "5000 bytes, more than" in skipped["big.png"]
    assert "folder named like an image" in skipped["dir.png/"]
    assert skipped[".DS_Store"] == skipped["__MACOSX/._ok.png"] == "hidden (its name starts with '.'); not read"
    assert "hidden folder" in skipped[".git/"] and not any(n.startswith(".git/") and n != ".git/" for n in skipped)
    assert summary["num_images"] == 2


def test_a_truncated_zip_is_reported_as_damaged(tmp_path, capsys):
    good = tmp_path / "good.png"
    _solid("RGB", (20, 20), (1, 2, 3)).save(good)
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as z:
        for k in range(3):
            z.write(good, f"img{k}.png")
    data = (tmp_path / "a.zip").read_bytes()
    for name in ("cut.zip", "cut.bin"):  # the name or the first bytes say it is a zip
        (tmp_path / name).write_bytes(data[: len(data) * 2 // 3])  # a download cut off: no table of contents
        with pytest.raises(ValueError, match=f"{name} is a damaged .zip file .*copy or download it again"):
            prepare.prepare_dataset(tmp_path / name, tmp_path / "out", R, progress=False)
    (tmp_path / "notes.txt").write_text("not a zip")
    with pytest.raises(ValueError, match="neither a folder nor a .zip file"):
        prepare.prepare_dataset(tmp_path / "notes.txt", tmp_path / "out", R, progress=False)
    assert cli.main(["prepare", str(tmp_path / "cut.zip"), str(tmp_path / "o"), "--resolution", "16"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a damaged .zip file" in err[0] and "Traceback" not in err[0]


@pytest.mark.parametrize("mode", ["auto", "bar", "off"])
def test_progress_off_a_terminal_is_plain_lines(src, tmp_path, capsys, monkeypatch, mode):
    """Captured stderr is not a terminal: no carriage-return redraws, a plain line every PLAIN_SECONDS
    (here: each file takes 4 s on a stand-in clock) and one at the end; STYLEGAN_TF_PROGRESS overrides it."""
    import itertools
    import types

    from stylegan_tf import progress

    clock = itertools.count(0.0, 4.0)  # each read of the clock: 4 s later
    monkeypatch.setattr(progress, "time", types.SimpleNamespace(monotonic=lambda: next(clock)))
    if mode == "auto":
        monkeypatch.delenv("STYLEGAN_TF_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("STYLEGAN_TF_PROGRESS", mode)
    n = len(GOOD) + len(BAD) - 1  # every listed name but the hidden file
    prepare.prepare_dataset(src, tmp_path / "ds", R)
    err = capsys.readouterr().err
    if mode == "bar":
        assert "\r" in err  # tqdm, as on a terminal
        return
    if mode == "off":
        assert err == ""
        return
    lines = err.splitlines()
    assert "\r" not in err and all(line.startswith("prepare: ") for line in lines), err
    assert 3 <= len(lines) <= n // 2 + 1  # one line per 10 s of 4 s files (the clock is read more when printing)
    assert lines[-1].startswith(f"prepare: {n}/{n} img (100%), ") and "img/s" in lines[-1]
    assert "ETA" in lines[0] and "ETA" not in lines[-1]


def test_prepare_cli_out_is_a_file_or_unwritable_is_one_line(src, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    for out, words in ((tmp_path / "file", "is an existing file"), ("/dev/null/ds", "could not write")):
        assert cli.main(["prepare", str(src), str(out), "--resolution", "16"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0] and str(out) in err[0], err
    assert (tmp_path / "file").read_text() == "x"


def test_dataset_json_pointing_outside_the_folder_is_refused(src, tmp_path):
    import json

    out = tmp_path / "ds"
    prepare.prepare_dataset(src, out, R, progress=False)
    meta = json.loads((out / "dataset.json").read_text())
    for evil in ("/etc/passwd", "../outside.tfrecord", "sub/r0016-00000.tfrecord"):
        meta["shards"]["16"] = [evil]
        (out / "dataset.json").write_text(json.dumps(meta))
        with pytest.raises(ValueError, match="not a file name inside the dataset folder"):
            pipeline.make_dataset(out, R, 2)


def test_generating_the_embedded_dataset_off_a_terminal_prints_plain_lines(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STYLEGAN_TF_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("STYLEGAN_TF_PROGRESS", raising=False)
    from stylegan_tf import progress

    monkeypatch.setattr(progress, "PLAIN_SECONDS", 1e9)  # only the closing line, however loaded the machine
    pipeline.synthetic_faces_path(8, num_images=3, seed=11)
    err = capsys.readouterr().err
    assert "\r" not in err and err.startswith("generating synthetic-faces at 64px (once): 3/3 img (100%)"), err
    assert len(err.splitlines()) == 1
