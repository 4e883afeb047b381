"""widgets: the explorers' pictures are the paper's figures at the chosen values, and the controls redraw them."""

import io
import sys

import numpy as np
import pytest
from PIL import Image

from stylegan_tf import build_generator, preset
from stylegan_tf.generation import figures, viz, widgets
from tolerance import assert_close

SEEDS = [3, 1, 4]


@pytest.fixture(scope="module")
def G():
    """A tiny row-F model (8 px, 4 layers) with a w_avg away from 0 and visible noise strengths."""
    G = build_generator(preset("F", "tiny"))
    G.w_avg.assign(np.random.default_rng(0).normal(size=G.w_dim).astype(np.float32))
    for layer in G.synthesis.synthesis_layers:
        layer.noise.strength.assign(np.full(layer.noise.strength.shape, 0.5, np.float32))
    return G


def _decode(png):
    return np.asarray(Image.open(io.BytesIO(png)))


def _ws(G, seeds, psi=1.0, cutoff=None):
    return figures.mapping_ws(G, figures.seeds_to_z(seeds, G.z_dim), psi, cutoff)


def test_truncation_images_are_the_truncation_trick(G):
    flat = widgets.truncation_images(G, SEEDS, psi=0.0, cutoff=G.num_ws)  # psi = 0: every seed is w_avg
    for image in flat[1:]:
        assert_close(image, flat[0])
    assert_close(widgets.truncation_images(G, SEEDS, psi=1.0),
                               figures.generate_images(G, SEEDS, psi=1.0))
    raw = figures.generate_images(G, SEEDS, psi=1.0)
    assert_close(widgets.truncation_images(G, SEEDS, psi=0.3, cutoff=0), raw)  # untruncated
    z = figures.seeds_to_z(SEEDS, G.z_dim)  # the Keras model's own truncation, on layers 0-1 only
    reference = G(z, truncation_psi=0.5, truncation_cutoff=2, noise_mode="const")
    assert_close(widgets.truncation_images(G, SEEDS, psi=0.5, cutoff=2), reference)
    partial = widgets.truncation_images(G, SEEDS, psi=0.0, cutoff=2)  # layers 2-3 still follow each seed
    assert np.abs(partial[0] - partial[1]).max() > 1e-3


def test_mixing_images_take_the_layers_from_the_crossover_up_from_the_source(G):
    src, dst = figures.generate_images(G, [5]), figures.generate_images(G, [6])
    at_zero = widgets.mixing_images(G, 5, 6, crossover=0)
    assert_close(at_zero[0], src[0])
    assert_close(at_zero[1], dst[0])
    assert_close(at_zero[2], src[0])  # every style from the source
    assert_close(widgets.mixing_images(G, 5, 6, crossover=G.num_ws)[2], dst[0])
    ws = _ws(G, [6], psi=None).copy()  # destination below the crossover, source from it up
    ws[:, 2:] = _ws(G, [5], psi=None)[:, 2:]
    assert_close(widgets.mixing_images(G, 5, 6, crossover=2)[2], figures.synthesize(G, ws)[0])
    with pytest.raises(ValueError, match=r"crossover must be in \[0, 4\]"):
        widgets.mixing_images(G, 5, 6, crossover=5)


def test_noise_variation_is_zero_without_noise_and_local_to_the_chosen_layers(G):
    off = widgets.noise_variation(G, 7, layers=[], num_draws=4)
    assert off.std.shape == (G.resolution, G.resolution) and (off.std == 0).all()
    noise_free = figures.synthesize(G, _ws(G, [7], psi=None), noise_mode="none")
    assert_close(off.images[0], noise_free[0])
    on = widgets.noise_variation(G, 7, layers=range(G.num_ws), num_draws=4)
    assert on.std.min() > 0  # every pixel varies when the 8 px layers are noisy
    fine = widgets.noise_variation(G, 7, layers=[3], num_draws=4)
    expected = figures.stochastic_variation(G, 7, num_draws=4, num_show=1, layers=[3])
    assert_close(fine.std, expected.std)
    assert 0 < fine.std.max() and fine.std.max() != pytest.approx(on.std.max())
    no_noise = build_generator(preset("D", "tiny"))  # row D: no noise inputs
    with pytest.raises(ValueError, match="no noise inputs"):
        widgets.noise_explorer(no_noise, 1)


def test_pictures_are_the_annotated_figures_of_the_images(G):
    picture = widgets.truncation_image(G, SEEDS, psi=0.5, cutoff=2)
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[-1] == 3
    tiles = viz.upscale(viz.to_uint8(widgets.truncation_images(G, SEEDS, 0.5, 2)))  # [3, 128, 128, 3]
    h = tiles.shape[1]
    bottom = picture[-h:]  # the row of images is the bottom of the picture, right-aligned
    width = 3 * tiles.shape[2] + 2 * 2
    np.testing.assert_array_equal(bottom[:, -width:][:, :tiles.shape[2]], tiles[0])
    np.testing.assert_array_equal(bottom[:, -tiles.shape[2]:], tiles[2])
    std_tile = widgets.noise_image(G, 7, layers=[], num_draws=4)[-h:, -h:]
    assert (std_tile == 0).all()  # the std map of no noise is black
    np.testing.assert_array_equal(_decode(widgets.png_bytes(picture)), picture)


def test_truncation_explorer_redraws_on_its_sliders(G):
    explorer = widgets.truncation_explorer(G, SEEDS)
    controls, image = explorer.children
    psi, cutoff = controls.children
    assert (psi.description, psi.value, cutoff.description, cutoff.value) == ("psi", 0.7, "cutoff", G.num_ws)
    np.testing.assert_array_equal(_decode(image.value), widgets.truncation_image(G, SEEDS, 0.7, G.num_ws))
    psi.value = 0.0
    np.testing.assert_array_equal(_decode(image.value), widgets.truncation_image(G, SEEDS, 0.0, G.num_ws))
    cutoff.value = 0
    np.testing.assert_array_equal(_decode(image.value), widgets.truncation_image(G, SEEDS, 0.0, 0))
    tiles = viz.upscale(viz.to_uint8(figures.generate_images(G, SEEDS, psi=1.0)))  # cutoff 0: the raw images
    np.testing.assert_array_equal(_decode(image.value)[-tiles.shape[1]:, -tiles.shape[2]:], tiles[-1])


def test_mixing_explorer_redraws_on_its_slider(G):
    explorer = widgets.mixing_explorer(G, 5, 6)
    controls, image = explorer.children
    (crossover,) = controls.children
    assert crossover.max == G.num_ws and crossover.value == G.num_ws // 2
    for value in (0, G.num_ws):
        crossover.value = value
        np.testing.assert_array_equal(_decode(image.value), widgets.mixing_image(G, 5, 6, value))
    picture = _decode(image.value)  # crossover = num_ws: the mix (right) is the destination (middle)
    size = viz.upscale(np.zeros((1, G.resolution, G.resolution, 3), np.uint8)).shape[1]
    np.testing.assert_array_equal(picture[-size:, -size:], picture[-size:, -2 * size - 2:-size - 2])


def test_noise_explorer_toggles_and_presets(G):
    explorer = widgets.noise_explorer(G, 7, num_draws=4)
    (header, image) = explorer.children
    choice, row = header.children
    toggles = row.children
    assert len(toggles) == G.num_ws and all(t.value for t in toggles)
    assert list(choice.options) == list(figures.noise_ranges(G.num_ws))
    np.testing.assert_array_equal(_decode(image.value), widgets.noise_image(G, 7, range(G.num_ws), num_draws=4))
    for toggle in toggles:
        toggle.value = False
    np.testing.assert_array_equal(_decode(image.value), widgets.noise_image(G, 7, [], num_draws=4))
    redraws = []
    image.observe(redraws.append, names="value")
    choice.value = "fine"  # one redraw for the whole preset
    fine = list(figures.noise_ranges(G.num_ws)["fine"])
    assert [t.value for t in toggles] == [i in fine for i in range(G.num_ws)] and len(redraws) == 1
    np.testing.assert_array_equal(_decode(image.value), widgets.noise_image(G, 7, fine, num_draws=4))


def test_explorers_name_the_extra_when_ipywidgets_is_missing(G, monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # makes `import ipywidgets` fail
    with pytest.raises(ImportError, match=r'pip install -e "\.\[notebooks\]"'):
        widgets.mixing_explorer(G, 1, 2)
