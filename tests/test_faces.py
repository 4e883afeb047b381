"""synthetic-faces: determinism, factor ranges, each factor acting at its own place and scale."""

import numpy as np
import pytest

from stylegan_tf.data import faces

R = 64


def _render(records, resolution=R):
    return faces.render_faces(np.array(records, faces.LABEL_DTYPE), resolution).astype(np.int32)


def _box(images, factor):  # box-downsample [N, R, R, 3] by `factor`
    n, r = images.shape[0], images.shape[1] // factor
    return images.reshape(n, r, factor, r, factor, 3).mean(axis=(2, 4))


def _to_px(coord, resolution=R):  # image coordinate in [-1, 1] -> pixel index
    return (coord + 1) / 2 * resolution


def test_deterministic_per_seed_and_index():
    images, factors = faces.generate_faces(6, 32, seed=3)
    again, factors_again = faces.generate_faces(6, 32, seed=3)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(factors, factors_again)
    # image i does not depend on the chunk it was drawn in
    tail, tail_factors = faces.generate_faces(2, 32, seed=3, start=4)
    np.testing.assert_array_equal(tail, images[4:])
    np.testing.assert_array_equal(tail_factors, factors[4:])
    other, _ = faces.generate_faces(6, 32, seed=4)
    assert np.abs(other.astype(int) - images).mean() > 10


def test_render_needs_factor_records():
    with pytest.raises(ValueError, match="head_x.*sample_factors"):
        faces.render_faces(np.zeros((2, 3)), 16)


def test_factors_cover_their_documented_ranges():
    factors = faces.sample_factors(2000, seed=0)
    assert len(faces.BINARY_ATTRIBUTES) >= 5
    for name, kind, low, high, scale, _ in faces.FACTORS:
        x = factors[name]
        assert scale in ("coarse", "middle", "fine", "stochastic")
        assert x.min() >= low and x.max() <= high, name
        if kind == "binary":
            assert set(np.unique(x)) == {0, 1} and 0.4 < x.mean() < 0.6, name
        else:  # spread over the whole range
            assert x.min() < low + 0.05 * (high - low) and x.max() > high - 0.05 * (high - low), name
    assert np.all(factors["detail_seed"] == np.round(factors["detail_seed"]))  # exact in float32


def _changed(base, record):
    """Pixels (rows, cols) that change visibly when `base` is redrawn as `record`."""
    a, b = _render([base, record])
    return np.nonzero(np.abs(a - b).max(axis=-1) > 12)


# each binary attribute must change pixels only inside its region, given in head units
# (rows and columns relative to the head centre, in multiples of the semi-axes a and b)
REGIONS = {
    "eyes_open": dict(rows=(-0.45, 0.3), cols=(-1.0, 1.0)),  # the eye band
    "glasses": dict(rows=(-0.45, 0.3), cols=(-1.1, 1.1)),
    "smiling": dict(rows=(0.3, 0.85), cols=(-0.6, 0.6)),  # the mouth
    "bangs": dict(rows=(-1.2, -0.15), cols=(-1.2, 1.2)),  # the forehead
}


@pytest.mark.parametrize("attribute", sorted(REGIONS))
def test_binary_attribute_changes_only_its_region(attribute):
    factors = faces.sample_factors(6, seed=11)
    for base in factors:
        flipped = base.copy()
        flipped[attribute] = 1 - base[attribute]
        rows, cols = _changed(base, flipped)
        assert len(rows) > 8, f"{attribute} is not visible"
        hx, hy, a, b = faces.head_ellipse(base)
        region = REGIONS[attribute]
        # rows of the region are in units of b except the eye band, which is placed with a as well
        top = _to_px(hy + region["rows"][0] * b) - 1
        bottom = _to_px(hy + region["rows"][1] * b) + 1
        left, right = _to_px(hx + region["cols"][0] * a) - 1, _to_px(hx + region["cols"][1] * a) + 1
        assert rows.min() >= top and rows.max() <= bottom, (attribute, rows.min(), rows.max(), top, bottom)
        assert cols.min() >= left and cols.max() <= right, (attribute, cols.min(), cols.max(), left, right)
        # and the region is a small part of the image
        assert (bottom - top) * (right - left) < 0.45 * R * R


def test_long_hair_changes_only_outside_the_face():
    factors = faces.sample_factors(6, seed=12)
    for base in factors:
        flipped = base.copy()
        flipped["long_hair"] = 1 - base["long_hair"]
        rows, cols = _changed(base, flipped)
        assert len(rows) > 20
        hx, hy, a, b = faces.head_ellipse(base)
        x = (cols + 0.5) / R * 2 - 1
        y = (rows + 0.5) / R * 2 - 1
        inside_face = ((x - hx) / a) ** 2 + ((y - hy) / b) ** 2 < 0.8**2
        assert not inside_face.any()
        assert rows.min() > _to_px(hy - b)  # hair hangs down, it does not change the top of the head


def test_factors_act_at_their_scales():
    """Coarse factors move the 8x8 image, colours change colours only, detail_seed only fine texture."""
    base = faces.sample_factors(1, seed=5)[0]
    edits = dict(faces.factor_edits(base))
    coarse = base.copy()
    coarse["head_x"] = -0.1 if base["head_x"] > 0 else 0.1
    coarse["head_size"] = 0.85 if base["head_size"] > 1 else 1.1
    images = _render([base, coarse, edits["smiling %d" % (1 - base["smiling"])], edits["detail_seed"]])
    low = _box(images, 8)  # 8x8: what the coarse styles of a generator see
    coarse_8, middle_8, detail_8 = (np.abs(low[i] - low[0]).mean() for i in (1, 2, 3))
    detail_64 = np.abs(images[3] - images[0]).mean()
    assert coarse_8 > 5 * middle_8 > 0 and coarse_8 > 10 * detail_8
    assert detail_64 > 1.0  # stochastic detail changes the full-resolution image ...
    assert detail_8 < 0.35 * detail_64 and np.abs(low[3] - low[0]).max() < 4  # ... but hardly its 8x8 content
    # background_hue changes the background and leaves the face centre alone
    bg = base.copy()
    bg["background_hue"] = (base["background_hue"] + 0.5) % 1
    a, b = _render([base, bg])
    hx, hy, _, _ = faces.head_ellipse(base)
    cy, cx = int(_to_px(hy)), int(_to_px(hx))
    np.testing.assert_array_equal(a[cy - 3 : cy + 3, cx - 3 : cx + 3], b[cy - 3 : cy + 3, cx - 3 : cx + 3])
    assert np.abs(a[:4, :4] - b[:4, :4]).mean() > 20  # the top-left corner is background


def test_anti_aliased_at_every_resolution():
    """Drawing at R directly matches drawing at 2R and box-filtering: edges are not aliased."""
    factors = faces.sample_factors(8, seed=2)
    for r in (16, 32):
        direct = faces.render_faces(factors, r).astype(float)
        filtered = _box(faces.render_faces(factors, 2 * r).astype(float), 2)
        assert np.abs(direct - filtered).mean() < 2.5, r
        finer = faces.render_faces(factors, r, supersample=4).astype(float)
        assert np.abs(finer - filtered).mean() < np.abs(direct - filtered).mean()  # converges with supersampling


def test_grid_figure(tmp_path):
    from PIL import Image

    path = faces.save_grid(tmp_path / "grid.png", resolution=16)
    assert Image.open(path).size == (9 * 16, 4 * 16)
