"""viz: the [-1, 1] -> uint8 conversion, grid layouts, atomic PNG/GIF files, matplotlib helpers."""

import os

import matplotlib
import numpy as np
import pytest
from PIL import Image

from stylegan_tf.generation import viz

matplotlib.use("Agg")


def test_to_uint8_is_the_official_conversion():
    x = np.array([-1.5, -1.0, -0.999, 0.0, 0.5, 1.0, 2.0], np.float32)
    expected = np.clip(np.rint(x * 127.5 + 127.5), 0, 255).astype(np.uint8)
    out = viz.to_uint8(x)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)
    assert (out[0], out[1], out[3], out[5], out[6]) == (0, 0, 128, 255, 255)  # clipped, centred, clipped


def test_image_grid_places_tiles_row_by_row_with_padding():
    images = np.stack([np.full((2, 3, 1), v, np.uint8) for v in (10, 20, 30)])  # [3, 2, 3, 1]
    grid = viz.image_grid(images, cols=2, pad=1, pad_value=0)
    assert grid.shape == (2 * 2 + 1, 2 * 3 + 1, 1)
    assert (grid[0:2, 0:3] == 10).all() and (grid[0:2, 4:7] == 20).all() and (grid[3:5, 0:3] == 30).all()
    assert (grid[3:5, 4:7] == 0).all()  # the missing 4th tile is padding
    assert (grid[2] == 0).all() and (grid[:, 3] == 0).all()  # the gaps
    five_d = viz.image_grid(images[None])  # [1, 3, H, W, C]: one row
    assert five_d.shape == (2, 9, 1)
    with pytest.raises(ValueError, match="rows, cols"):
        viz.image_grid(np.zeros((2, 3), np.uint8))


def test_labelled_grid_puts_sources_on_top_and_destinations_left():
    grid = np.full((2, 3, 1, 1, 3), 50, np.uint8)  # [rows, cols, H, W, C]
    top = np.full((3, 1, 1, 3), 100, np.uint8)
    left = np.full((2, 1, 1, 3), 200, np.uint8)
    canvas = viz.labelled_grid(grid, top=top, left=left)
    assert canvas.shape == (3, 4, 3)
    assert (canvas[0, 0] == 255).all()  # blank corner
    assert (canvas[0, 1:] == 100).all() and (canvas[1:, 0] == 200).all() and (canvas[1:, 1:] == 50).all()


def test_std_to_uint8_scales_max_to_white_and_keeps_zero_black():
    std = np.array([[0.0, 0.1], [0.2, 0.4]])
    out = viz.std_to_uint8(std)
    assert out.shape == (2, 2, 1) and out[1, 1, 0] == 255 and out[0, 0, 0] == 0
    assert (viz.std_to_uint8(np.zeros((3, 3))) == 0).all()


def test_save_png_round_trips_and_leaves_no_temporary(tmp_path):
    rgb = np.random.default_rng(0).uniform(-1, 1, (5, 7, 3)).astype(np.float32)
    path = viz.save_png(tmp_path / "sub" / "a.png", rgb)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), viz.to_uint8(rgb))
    gray = viz.save_png(tmp_path / "g.png", np.zeros((4, 4, 1), np.uint8))
    assert Image.open(gray).mode == "L"
    assert sorted(os.listdir(tmp_path)) == ["g.png", "sub"] and os.listdir(tmp_path / "sub") == ["a.png"]
    with pytest.raises(ValueError, match="an image must be"):
        viz.save_png(tmp_path / "bad.png", np.zeros((4, 4, 2), np.uint8))


def test_save_gif_writes_every_frame_looping(tmp_path):
    frames = np.stack([np.full((4, 4, 3), v, np.uint8) for v in (0, 80, 160, 240)])
    path = viz.save_gif(tmp_path / "walk.gif", frames, duration_ms=50)
    gif = Image.open(path)
    assert gif.n_frames == 4 and gif.info.get("loop") == 0
    with pytest.raises(ValueError, match="at least one frame"):
        viz.save_gif(tmp_path / "empty.gif", np.zeros((0, 4, 4, 3), np.uint8))


def test_matplotlib_helpers_draw_one_axis_per_image():
    import matplotlib.pyplot as plt

    images = np.zeros((5, 4, 4, 3), np.float32)
    fig = viz.show_images(images, titles=list("abcde"), cols=3)
    assert len(fig.axes) == 6 and [ax.get_title() for ax in fig.axes[:5]] == list("abcde")
    fig2 = viz.show_grid(viz.image_grid(images), title="grid")
    assert fig2.axes[0].get_title() == "grid"
    plt.close("all")


def test_annotated_figure_upscales_cells_and_writes_labels():
    images = np.zeros((2, 3, 8, 8, 3), np.uint8)
    images[1, 2] = 200  # one bright cell: bottom right
    fig = viz.annotated_figure(images, row_labels=["a", "b\nsecond line"], col_labels=["x", "y", "psi = 0.5"],
                               title="title", cell=32, pad=2)
    h, w = fig.shape[:2]
    assert fig.dtype == np.uint8 and fig.shape[2] == 3
    assert (fig[h - 32:, w - 32:] == 200).all()  # 8 px -> 32 px, nearest
    assert (fig[h - 32:, w - 32 - 2 - 32: w - 32 - 2] == 0).all()  # its left neighbour
    left, top = w - (3 * 32 + 2 * 2), h - (2 * 32 + 2)
    assert left > 0 and top > 0
    assert (fig[top:, :left] < 128).any() and (fig[:top, left:] < 128).any()  # label text is drawn in the margins
    assert viz.upscale(np.zeros((1, 8, 8, 3), np.uint8), 20).shape == (1, 24, 24, 3)  # smallest factor reaching 20
    with pytest.raises(ValueError, match="row_labels has 1 entries for 2 rows"):
        viz.annotated_figure(images, row_labels=["a"])


def test_save_png_writes_text_chunks(tmp_path):
    path = viz.save_png(tmp_path / "t.png", np.zeros((4, 4, 3), np.uint8), text={"Title": "kimg 2.000", "kimg": 2.0})
    assert Image.open(path).text == {"Title": "kimg 2.000", "kimg": "2.0"}
    assert Image.open(viz.save_png(tmp_path / "plain.png", np.zeros((4, 4, 3), np.uint8))).text == {}


def test_tick_grid_is_upscaled_nearest_and_titled_with_kimg_and_resolution():
    from stylegan_tf.training.run_log import TICK_CELL, tick_grid, tick_title

    images = np.full((32, 8, 8, 3), -1.0, np.float32)  # black 8 px images, one white pixel in the last
    images[31, 7, 7] = 1.0
    grid = tick_grid(images, kimg=12.0, resolution=8, lod=1.8)
    assert TICK_CELL == 96
    body_h, body_w = 4 * 96 + 3 * 2, 8 * 96 + 7 * 2  # 8 px -> 96 px (12x), 2 px between cells
    assert grid.shape[1:] == (body_w, 3) and body_h + 10 < grid.shape[0] < body_h + 40
    body = grid[-body_h:]
    assert (body[-12:, -12:] == 255).all() and (body[-13, -12:] == 0).all()  # one pixel -> a 12 x 12 block
    assert (body[:96, :96] == 0).all() and (body[:, 96:98] == 255).all()  # black cells, white gaps
    title = grid[:-body_h]
    assert (title < 100).any() and (title > 250).mean() > 0.8  # dark text on white above the grid
    assert tick_title(12.0, 8, 1.8) == "kimg 12.000, 8x8 px (fading in from 4x4, lod 1.80), G_ema on 32 fixed latents, psi 1"
    assert "(lod 0.00)" in tick_title(120.0, 32, 0.0) and tick_title(2.0, 8).startswith("kimg 2.000, 8x8 px,")
    assert tick_grid(np.zeros((32, 128, 128, 3), np.float32), 1.0, 128).shape[1] == 8 * 128 + 7 * 2  # no upscaling


def test_std_map_figure_has_a_colour_bar_in_the_std_units(tmp_path):
    std = np.zeros((8, 8))
    std[2, 3] = 0.25
    fig = viz.std_map_figure(std, title="seed 3: std of 100 noise draws")
    image_ax, bar_ax = fig.axes
    assert image_ax.get_title() == "seed 3: std of 100 noise draws"
    assert bar_ax.get_label() == "<colorbar>" and "std" in bar_ax.get_ylabel()
    assert bar_ax.get_ylim() == pytest.approx((0.0, 0.25))  # black 0, white the map's maximum
    shown = image_ax.get_images()[0]
    assert shown.get_clim() == pytest.approx((0.0, 0.25)) and shown.get_cmap().name == "gray"
    np.testing.assert_array_equal(shown.get_array(), std)
    picture = viz.figure_to_uint8(fig)
    assert picture.dtype == np.uint8 and picture.shape[2] == 3 and min(picture.shape[:2]) >= 256
    path = viz.save_figure(tmp_path / "std.png", fig, text={"Title": "std"})
    assert np.array_equal(np.asarray(Image.open(path)), picture) and Image.open(path).text["Title"] == "std"
    flat = viz.std_map_figure(np.zeros((4, 4)))  # no variation at all: a black map, a 0..1 bar, no error
    assert flat.axes[1].get_ylim() == pytest.approx((0.0, 1.0))
    with pytest.raises(ValueError, match=r"must be \[H, W\]"):
        viz.std_map_figure(np.zeros((4, 4, 3)))
