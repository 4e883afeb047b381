"""Sliced Wasserstein distance: equal to a NumPy transcription of the official algorithm, and its plumbing."""

import numpy as np
import pytest
import scipy.ndimage

from stylegan_tf.metrics import calc_metric, swd

SOURCE = "synthetic-faces:64"  # the embedded images the other data tests use


# -- the official metrics/sliced_wasserstein.py, transcribed with an explicit RandomState ---------
def ref_descriptors(minibatch, nhood_size, nhoods_per_image, rng):
    S = minibatch.shape  # (minibatch, channel, height, width)
    N = nhoods_per_image * S[0]
    H = nhood_size // 2
    nhood, chan, x, y = np.ogrid[0:N, 0:S[1], -H:H + 1, -H:H + 1]
    img = nhood // nhoods_per_image
    x = x + rng.randint(H, S[3] - H, size=(N, 1, 1, 1))
    y = y + rng.randint(H, S[2] - H, size=(N, 1, 1, 1))
    idx = ((img * S[1] + chan) * S[2] + y) * S[3] + x
    return minibatch.flat[idx]


def ref_finalize(desc):
    desc = np.concatenate(desc, axis=0)
    desc -= np.mean(desc, axis=(0, 2, 3), keepdims=True)
    desc /= np.std(desc, axis=(0, 2, 3), keepdims=True)
    return desc.reshape(desc.shape[0], -1)


def ref_sliced_wasserstein(A, B, dir_repeats, dirs_per_repeat, rng):
    results = []
    for _ in range(dir_repeats):
        dirs = rng.randn(A.shape[1], dirs_per_repeat)
        dirs /= np.sqrt(np.sum(np.square(dirs), axis=0, keepdims=True))
        dirs = dirs.astype(np.float32)
        projA = np.sort(np.matmul(A, dirs), axis=0)
        projB = np.sort(np.matmul(B, dirs), axis=0)
        results.append(np.mean(np.abs(projA - projB)))
    return np.mean(results)


GAUSS = np.float32([[1, 4, 6, 4, 1], [4, 16, 24, 16, 4], [6, 24, 36, 24, 6], [4, 16, 24, 16, 4], [1, 4, 6, 4, 1]]) / 256.0


def ref_pyramid(minibatch, num_levels):
    def pyr_down(m):
        return scipy.ndimage.convolve(m, GAUSS[np.newaxis, np.newaxis], mode="mirror")[:, :, ::2, ::2]

    def pyr_up(m):
        res = np.zeros((m.shape[0], m.shape[1], m.shape[2] * 2, m.shape[3] * 2), m.dtype)
        res[:, :, ::2, ::2] = m
        return scipy.ndimage.convolve(res, GAUSS[np.newaxis, np.newaxis] * 4.0, mode="mirror")

    pyramid = [np.float32(minibatch)]
    for _ in range(1, num_levels):
        pyramid.append(pyr_down(pyramid[-1]))
        pyramid[-2] -= pyr_up(pyramid[-1])
    return pyramid


def ref_swd(batches_a, batches_b, num_levels, nhoods, repeats, dirs, seeds):
    """The official `_evaluate` on two lists of uint8 NCHW minibatches: SWD x 1e3 per level."""
    rng_a, rng_b, rng_dirs = (np.random.RandomState(s) for s in seeds)
    desc = []
    for batches, rng in ((batches_a, rng_a), (batches_b, rng_b)):
        levels = [[] for _ in range(num_levels)]
        for m in batches:
            for lod, level in enumerate(ref_pyramid(m, num_levels)):
                levels[lod].append(ref_descriptors(level, 7, nhoods, rng))
        desc.append([ref_finalize(d) for d in levels])
    return [1e3 * ref_sliced_wasserstein(a, b, repeats, dirs, rng_dirs) for a, b in zip(*desc)]


def _images(seed, n=6, res=32):
    """Smooth-ish uint8 NHWC images with structure at every scale (fixed inputs)."""
    rng = np.random.RandomState(seed)
    x = rng.rand(n, res // 4, res // 4, 3).repeat(4, axis=1).repeat(4, axis=2) * 200 + rng.rand(n, res, res, 3) * 55
    return np.round(x).astype(np.uint8)


def test_laplacian_pyramid_matches_the_official_5x5_filter():
    x = np.transpose(_images(0), (0, 3, 1, 2)).astype(np.float32)
    ours, ref = swd.laplacian_pyramid(x, 3), ref_pyramid(x.copy(), 3)  # the official code works in place
    assert [p.shape[2] for p in ours] == [32, 16, 8]
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, atol=2e-4)
    # the band-pass levels and the low-pass rest add back to the image (pyrUp of each coarser level)
    assert abs(float(ours[-1].mean()) - float(x.mean())) < 1.0


def test_descriptors_same_neighbourhoods_as_official():
    level = np.transpose(_images(1, n=3), (0, 3, 1, 2)).astype(np.float32)
    ours = swd.neighbourhood_descriptors(level, 5, np.random.RandomState(7))
    ref = ref_descriptors(level, 7, 5, np.random.RandomState(7))
    assert ours.shape == (15, 3 * 49)
    np.testing.assert_array_equal(ours, ref.reshape(15, -1))
    # each descriptor is a real 7x7 patch of its own image: the centre pixel of channel 0 occurs in that image
    assert all(np.isin(ours[i, 24], level[i // 5, 0]) for i in range(15))


def test_swd_equals_official_transcription():
    a = [np.transpose(_images(s), (0, 3, 1, 2)) for s in (10, 11)]  # two minibatches of 6, NCHW
    b = [np.transpose(_images(s), (0, 3, 1, 2)) for s in (20, 21)]
    seeds = (3, 4, 5)
    expected = ref_swd(a, b, 2, 16, 2, 8, seeds)

    sets = [swd.DescriptorSet(2, 16, np.random.RandomState(s)) for s in seeds[:2]]
    for k, batches in enumerate((a, b)):
        for m in batches:
            sets[k].add(np.transpose(m, (0, 2, 3, 1)))  # the class takes NHWC
    rng_dirs = np.random.RandomState(seeds[2])
    got = []
    for lod in range(2):
        (da, norm_a), (db, norm_b) = sets[0].finish(lod), sets[1].finish(lod)
        got.append(1e3 * swd.sliced_wasserstein(da, db, 2, 8, rng_dirs, norm_a, norm_b, chunk=3))
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    assert all(v > 1.0 for v in got)  # different image sets are measurably apart


def test_sliced_wasserstein_closed_form_and_zero():
    rng = np.random.RandomState(0)
    a = rng.randn(4000, 5).astype(np.float32)
    assert swd.sliced_wasserstein(a, a.copy(), 2, 16, np.random.RandomState(1)) == 0.0
    # a shift by t along every axis moves each projection on unit dir d by t * sum(d): W1 = |t * sum(d)|
    dirs_rng = np.random.RandomState(1)
    got = swd.sliced_wasserstein(a, a + 0.5, 1, 16, dirs_rng)
    d = np.random.RandomState(1).randn(5, 16)
    d /= np.sqrt((d ** 2).sum(0, keepdims=True))
    np.testing.assert_allclose(got, np.mean(np.abs(0.5 * d.sum(0))), rtol=1e-4)


def test_pyramid_resolutions():
    assert swd.pyramid_resolutions(32) == [32, 16]
    assert swd.pyramid_resolutions(1024) == [1024, 512, 256, 128, 64, 32, 16]
    assert swd.pyramid_resolutions(8) == [8]  # below 16 px: one level


class _ImageG:
    """A stand-in generator: images that are a fixed function of z (enough to exercise the plumbing)."""

    resolution, z_dim = 16, 4

    def __call__(self, z, truncation_psi=1.0, noise_mode="random"):
        import tensorflow as tf

        ramp = tf.reshape(tf.linspace(-1.0, 1.0, 16), [1, 16, 1, 1])
        return tf.tanh(ramp * z[:, None, None, :3] + tf.transpose(ramp, [0, 2, 1, 3]) * z[:, None, None, 1:4])


def test_swd_metric_end_to_end_and_real_vs_real_floor(capsys):
    fake = calc_metric("swd", _ImageG(), SOURCE, num_images=24, batch_size=16, nhoods_per_image=32, progress=True)
    err = capsys.readouterr().err  # stderr is no terminal here: plain progress lines, no carriage returns
    assert "\r" not in err and "swd: 48/48 img (100%)" in err
    assert set(fake) >= {"swd", "swd_16", "num_images", "seconds"}
    assert fake["num_images"] == 24 and "swd_8" not in fake  # 16 px is one level with resolution_min 16
    again = calc_metric("swd", _ImageG(), SOURCE, num_images=24, batch_size=16, nhoods_per_image=32)
    assert again["swd"] == pytest.approx(fake["swd"], rel=1e-6)  # seeded: the same number twice
    floor = calc_metric("swd", None, SOURCE, num_images=24, resolution=16, batch_size=16, nhoods_per_image=32,
                        resolution_min=8)
    assert set(floor) >= {"swd_16", "swd_8"}
    assert floor["swd_16"] < fake["swd_16"] / 2  # two halves of the reals are closer than ramps are to faces
    with pytest.raises(ValueError, match="fewer"):
        calc_metric("swd", None, SOURCE, num_images=40, resolution=16)  # 80 > 64 images


def test_folded_normalisation_equals_normalising_first():
    rng = np.random.RandomState(2)
    a = (rng.randn(3000, 2 * 49) * [[3.0] * 49 + [0.5] * 49] + 40.0).astype(np.float32)  # two channels
    b = (rng.randn(3000, 2 * 49) * 2.0 - 7.0).astype(np.float32)
    norms = []
    for x in (a, b):
        view = x.reshape(len(x), 2, 49).astype(np.float64)
        norms.append((view.mean(axis=(0, 2)), view.std(axis=(0, 2))))
    folded = swd.sliced_wasserstein(a, b, 2, 16, np.random.RandomState(5), *norms)
    ref_a = ref_finalize([a.reshape(-1, 2, 7, 7).copy()])
    np.testing.assert_allclose(swd.normalize_descriptors(a.copy(), 2), ref_a, atol=5e-4)  # ref: float32 sums
    explicit = swd.sliced_wasserstein(ref_a, swd.normalize_descriptors(b.copy(), 2), 2, 16, np.random.RandomState(5))
    np.testing.assert_allclose(folded, explicit, rtol=1e-4)
    assert folded < 0.1  # both sets are Gaussian per component once normalised: close, though not equal


def test_level_descriptors_read_back_the_gathered_descriptors():
    level = np.transpose(_images(3, n=4), (0, 3, 1, 2)).astype(np.float32) - 100.0
    desc = swd.neighbourhood_descriptors(level, 9, np.random.RandomState(4))
    x, y = swd.neighbourhood_corners(4, 32, 32, 9, np.random.RandomState(4))
    stored = swd.LevelDescriptors(level, swd._patch_starts(0, 9, x, y, level.shape), block=5)  # blocks of 5
    assert stored.shape == desc.shape == (36, 147) and len(stored) == 36
    np.testing.assert_array_equal(stored.rows(0, 36), desc)
    dirs = np.random.RandomState(5).randn(147, 6).astype(np.float32)
    np.testing.assert_allclose(stored.project(dirs), dirs.T @ desc.T, rtol=1e-5, atol=1e-3)


def test_streamed_descriptor_set_keeps_level_images_and_equals_official():
    """With 128 neighbourhoods per image both 32 and 16 px levels are kept as images (6x / 24x fewer values
    than their descriptors); the SWD is still the official one, over several minibatches of uneven size."""
    a = [np.transpose(_images(s, n=n), (0, 3, 1, 2)) for s, n in ((30, 5), (31, 3))]
    b = [np.transpose(_images(s, n=n), (0, 3, 1, 2)) for s, n in ((40, 5), (41, 3))]
    seeds = (6, 7, 8)
    expected = ref_swd(a, b, 2, 128, 2, 16, seeds)
    for num_images in (8, None):  # preallocated, and collected in lists
        sets = [swd.DescriptorSet(2, 128, np.random.RandomState(s), num_images) for s in seeds[:2]]
        for k, batches in enumerate((a, b)):
            for m in batches:
                sets[k].add(np.transpose(m, (0, 2, 3, 1)))
        rng_dirs, got = np.random.RandomState(seeds[2]), []
        for lod in range(2):
            (da, norm_a), (db, norm_b) = sets[0].finish(lod), sets[1].finish(lod)
            assert isinstance(da, swd.LevelDescriptors) and da.shape == (8 * 128, 147)
            assert da.flat.nbytes * 6 <= 8 * 128 * 147 * 4  # the level images, not the descriptors
            got.append(1e3 * swd.sliced_wasserstein(da, db, 2, 16, rng_dirs, norm_a, norm_b, chunk=5))
        np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_streamed_swd_memory_stays_below_its_descriptors():
    """Collecting and comparing two sets of 384 images at 32 px, as `swd` does: NumPy's peak stays well below
    the 116 MB that the descriptors of both sets and levels take (384 * 128 * 147 * 4 bytes * 4), which the
    official code and ours before held at once."""
    import tracemalloc

    batches = [[_images(100 * k + i, n=64) for i in range(6)] for k in (0, 1)]
    tracemalloc.start()
    try:
        sets = [swd.DescriptorSet(2, 128, np.random.RandomState([0, k]), 384) for k in (0, 1)]
        for k in (0, 1):
            for batch in batches[k]:
                sets[k].add(batch)
        rng, values = np.random.RandomState(2), []
        for lod in range(2):
            (a, norm_a), (b, norm_b) = sets[0].finish(lod), sets[1].finish(lod)
            values.append(swd.sliced_wasserstein(a, b, 1, 64, rng, norm_a, norm_b))
            del a, b
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    descriptors = 384 * 128 * 147 * 4 * 4
    assert peak < descriptors / 2, (peak, descriptors)
    assert all(v > 1e-3 for v in values)  # two different random image sets
