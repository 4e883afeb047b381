"""Sliced Wasserstein distance between Laplacian-pyramid patches of generated and real images.

For each pyramid level (full resolution down to `resolution_min`): take `nhoods_per_image` random 7x7
neighbourhoods per image (descriptors of 7 * 7 * C values), normalise each set per colour channel to
zero mean and unit variance, project both sets on random unit directions, and average the 1-D
Wasserstein-1 distances |sort(proj_a) - sort(proj_b)| over descriptors, directions and repeats:

    SWD_l = mean_{repeat, dir} mean_i |sort(A_l . dir)_i - sort(B_l . dir)_i|,   reported x 10^3

Paper: Karras et al. 2018 (ProGAN), Section 5 and Appendix D; the official `metrics/sliced_wasserstein.py`
(`API._evaluate`) with `get_descriptors_for_minibatch`, `finalize_descriptors`, `sliced_wasserstein` and
`generate_laplacian_pyramid`. Images are compared as uint8 (0-255), as the official metric does.

Departures, none of which changes the value's definition: the random draws come from seeded
`RandomState`s instead of NumPy's global state, so a seed gives the same number; the 5x5 binomial
pyramid filter is applied as two 1-D passes (same result up to float rounding); projections are
sorted in chunks of directions on two threads; where a level image is smaller than its 128 descriptors
(up to 64 px) we keep the level images and the patch positions instead of the descriptors and read the
descriptors back when projecting them (`LevelDescriptors`: the same values, 6x less memory at 32 px). The official default is 16,384 images (`swd16k`);
ours is 10,000, the size of the embedded synthetic-faces dataset. Below 16 px the pyramid keeps one level.
"""

import concurrent.futures
import contextlib
import os

import numpy as np
import scipy.ndimage

from stylegan_tf.metrics import register_metric
from stylegan_tf.progress import optional_progress_bar

__all__ = ["swd", "laplacian_pyramid", "neighbourhood_corners", "neighbourhood_descriptors", "normalize_descriptors",
           "sliced_wasserstein", "LevelDescriptors", "DescriptorSet"]

NHOOD_SIZE = 7  # official nhood_size
NHOODS_PER_IMAGE = 128  # official nhoods_per_image
DIR_REPEATS = 4  # official dir_repeats
DIRS_PER_REPEAT = 128  # official dirs_per_repeat
PROJECTION_BYTES = 96 * 2**20  # per set: the directions projected and sorted at a time (19 at 10,000 images)
_BINOMIAL = np.float32([1, 4, 6, 4, 1]) / 16.0  # outer(_BINOMIAL, _BINOMIAL) = the official 5x5 gaussian_filter


def _blur(x, gain=1.0):
    """The 5x5 binomial filter on the two last axes of [N, C, H, W], mirror edges (as cv2.pyrDown/pyrUp)."""
    x = scipy.ndimage.correlate1d(x, _BINOMIAL * gain, axis=2, mode="mirror")
    return scipy.ndimage.correlate1d(x, _BINOMIAL * gain, axis=3, mode="mirror")


def laplacian_pyramid(images, num_levels):
    """[N, C, H, W] -> `num_levels` float32 arrays: band-pass levels H, H/2, ..., then the low-pass rest."""
    pyramid = [np.asarray(images, np.float32)]
    for _ in range(1, num_levels):
        down = _blur(pyramid[-1])[:, :, ::2, ::2]  # pyrDown
        up = np.zeros_like(pyramid[-1])
        up[:, :, ::2, ::2] = down
        pyramid[-1] = pyramid[-1] - _blur(up, gain=2.0)  # pyrUp: zero-insert, blur x 4 (2 per axis)
        pyramid.append(down)
    return pyramid


def neighbourhood_corners(num_images, height, width, nhoods_per_image, rng, nhood_size=NHOOD_SIZE):
    """Top-left corners (x [M], y [M]) of `nhoods_per_image` random neighbourhoods per image, M = N * nhoods.

    Draws x then y centres with `rng.randint`, the official `get_descriptors_for_minibatch` order.
    """
    count, half = nhoods_per_image * num_images, nhood_size // 2
    x = rng.randint(half, width - half, size=count) - half  # left edge of each patch
    y = rng.randint(half, height - half, size=count) - half  # top edge
    return x, y


def _patch_offsets(channels, height, width, nhood_size=NHOOD_SIZE):
    """Flat offsets [C * size * size] of a patch's values in [N, C, H, W], laid out [C, x, y] as the official code."""
    c, x, y = np.ogrid[0:channels, 0:nhood_size, 0:nhood_size]
    return ((c * height + y) * width + x).reshape(-1)


def _patch_starts(first_image, nhoods_per_image, x, y, shape):
    """Flat index in [N, C, H, W] of each patch's (channel 0, top-left) value; image = first_image + i // nhoods."""
    _, c, h, w = shape
    images = first_image + np.arange(len(x)) // nhoods_per_image
    starts = (images * c * h + y) * w + x
    return starts.astype(np.int32 if (first_image + len(x) // nhoods_per_image + 1) * c * h * w < 2**31 else np.int64)


def neighbourhood_descriptors(level, nhoods_per_image, rng, nhood_size=NHOOD_SIZE):
    """`nhoods_per_image` random neighbourhoods per image of [N, C, H, W] -> [N * nhoods, C * size * size].

    Corners from `neighbourhood_corners` (the official draws, in the official order); each patch is laid
    out as the official `get_descriptors_for_minibatch` does ([C, x, y]), so the same RandomState gives
    the same descriptors.
    """
    level = np.ascontiguousarray(level, np.float32)
    n, c, h, w = level.shape
    x, y = neighbourhood_corners(n, h, w, nhoods_per_image, rng, nhood_size)
    starts = _patch_starts(0, nhoods_per_image, x, y, level.shape)
    return np.take(level.reshape(-1), starts[:, None] + _patch_offsets(c, h, w, nhood_size))


def normalize_descriptors(desc, num_channels):
    """In place: each channel of [M, C * k] descriptors to zero mean and unit std (official `finalize_descriptors`)."""
    view = desc.reshape(len(desc), num_channels, -1)  # [M, C, k]
    mean = view.mean(axis=(0, 2), dtype=np.float64, keepdims=True)
    std = np.sqrt(np.square(view - mean.astype(np.float32)).mean(axis=(0, 2), dtype=np.float64, keepdims=True))
    view -= mean.astype(np.float32)
    view /= std.astype(np.float32)
    return desc


class LevelDescriptors:
    """The descriptors of one pyramid level, kept as the level's images and the patches' positions.

    At 32 px a level image [C, 32, 32] holds 3,072 values and its 128 descriptors 18,816 (the patches
    overlap), so the set is stored as images and each descriptor is read back when it is projected:
    `project(dirs)` = descriptors @ dirs, computed `block` descriptors at a time. Equal to projecting the
    descriptors of `neighbourhood_descriptors` (the same values, copied from the same places).

    Args:
        levels: [N, C, H, W] float32 level images.
        starts: [N * nhoods] flat index of each patch's first value (`_patch_starts`).
    """

    def __init__(self, levels, starts, nhood_size=NHOOD_SIZE, block=8192):
        self.flat, self.starts, self.block = np.ascontiguousarray(levels, np.float32).reshape(-1), starts, block
        self.offsets = _patch_offsets(*levels.shape[1:], nhood_size)
        self.shape = (len(starts), len(self.offsets))

    def __len__(self):
        return self.shape[0]

    def rows(self, begin, end):
        """Descriptors begin..end-1 [end - begin, D], laid out as `neighbourhood_descriptors`."""
        return np.take(self.flat, self.starts[begin:end, None] + self.offsets)

    def project(self, dirs):
        """[D, K] directions -> projections [K, M] float32 (row k: every descriptor on direction k)."""
        out = np.empty((dirs.shape[1], len(self)), np.float32)
        for i in range(0, len(self), self.block):
            out[:, i:i + self.block] = (self.rows(i, i + self.block) @ dirs).T
        return out


def _sorted_projection(desc, dirs):
    if isinstance(desc, LevelDescriptors):
        proj = desc.project(dirs)
    else:
        proj = dirs.T @ desc.T  # [dirs, M]: each row one direction, contiguous for the sort
    proj.sort(axis=1)
    return proj


def _folded(dirs, norm, dim):
    """Directions for raw descriptors: ((x - m) / s) . d = x . (d / s) - m . (d / s), per channel m, s."""
    if norm is None:
        return dirs, np.zeros(dirs.shape[1])
    mean, std = (np.repeat(np.asarray(v, np.float64), dim // len(v)) for v in norm)  # per descriptor component
    scaled = dirs / std[:, None]
    return scaled.astype(np.float32), mean @ scaled


@contextlib.contextmanager
def _one_blas_thread(active):
    """One BLAS thread per call while our threads project the two sets side by side (NumPy's take, sort and
    BLAS release the GIL): BLAS's own threads cost more than they give on the many small block products."""
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:
        active = False
    if not active:
        yield
        return
    with threadpool_limits(1, "blas"):
        yield


def sliced_wasserstein(a, b, dir_repeats, dirs_per_repeat, rng, norm_a=None, norm_b=None, chunk=32, threads=2):
    """Mean 1-D Wasserstein-1 distance of descriptors a, b [M, D] over random unit directions.

    Draws `dir_repeats` matrices `rng.randn(D, dirs_per_repeat)` (normalised columns), as the official
    `sliced_wasserstein`; the mean over directions of each repeat, then over repeats. `norm_a`, `norm_b`:
    optional (mean [C], std [C]) per channel; the set is then compared as (x - mean) / std, the official
    normalisation, folded into the directions so the descriptors are never copied. `a`, `b` are arrays
    or `LevelDescriptors`; `chunk` directions are projected and sorted at a time (2 * chunk * M floats).
    """
    if len(a.shape) != 2 or a.shape != b.shape:
        raise ValueError(f"descriptor sets must have one shape [M, D], got {a.shape} and {b.shape}")
    results = []
    with concurrent.futures.ThreadPoolExecutor(max(1, threads)) as pool, _one_blas_thread(threads > 1):
        for _ in range(dir_repeats):
            dirs = rng.randn(a.shape[1], dirs_per_repeat)  # [D, dirs]
            dirs /= np.sqrt(np.sum(np.square(dirs), axis=0, keepdims=True))
            (dirs_a, off_a), (dirs_b, off_b) = _folded(dirs, norm_a, a.shape[1]), _folded(dirs, norm_b, a.shape[1])
            total = 0.0
            for i in range(0, dirs_per_repeat, chunk):
                pa, pb = pool.map(_sorted_projection, (a, b), (dirs_a[:, i:i + chunk], dirs_b[:, i:i + chunk]))
                pa -= pb
                del pb
                pa -= (off_a[i:i + chunk] - off_b[i:i + chunk]).astype(np.float32)[:, None]  # sort ignores offsets
                total += float(np.abs(pa, out=pa).sum(dtype=np.float64))
                del pa
            results.append(total / (a.shape[0] * dirs_per_repeat))
    return float(np.mean(results))


class DescriptorSet:
    """Collects the neighbourhood descriptors of one image set, per pyramid level, and their channel moments.

    Args:
        num_levels: Pyramid levels (2 at 32 px with `resolution_min` 16).
        nhoods_per_image: Neighbourhoods drawn per image and level.
        rng: `np.random.RandomState` for the neighbourhood positions.
        num_images: If known, each level is written into one preallocated array.

    `add(images)` takes uint8 or float images [N, H, W, C] in 0..255. `finish(lod)` returns level
    `lod`'s raw descriptors [M, C * 49] and their per-channel (mean [C], std [C]), the normalisation of
    the official `finalize_descriptors`, for `sliced_wasserstein(norm_a=...)`.

    Memory: where a level image holds fewer values than its descriptors (H * W < nhoods * 49, i.e. up
    to 64 px with 128 neighbourhoods) the set keeps the level images and the patch positions, and
    `finish` returns them as a `LevelDescriptors` that reads each descriptor back when projected; above
    that it keeps the descriptors [M, C * 49] float32, as the official code does. At 32 px and 10,000
    images that is 154 MB per set instead of 1.5 GB.
    """

    def __init__(self, num_levels, nhoods_per_image, rng, num_images=None, nhood_size=NHOOD_SIZE):
        self.num_levels, self.nhoods_per_image, self.rng = num_levels, nhoods_per_image, rng
        self.num_images, self.nhood_size = num_images, nhood_size
        self.levels = [[] for _ in range(num_levels)]  # level images [N, C, H, W], or descriptors [M, D]
        self.starts = [[] for _ in range(num_levels)]  # patch positions, where the level images are kept
        self.moments = [0.0] * num_levels  # per level: [3, C] sums of 1, x, x^2 per channel (float64)
        self.filled = 0  # images added

    def _keep_images(self, level):
        return level.shape[2] * level.shape[3] < self.nhoods_per_image * self.nhood_size ** 2

    def _store(self, lod, part, total_shape):
        if self.num_images is None:
            self.levels[lod].append(part)
            return
        if not len(self.levels[lod]):
            self.levels[lod] = np.empty(total_shape, part.dtype)
        begin = self.filled * (1 if part.ndim == 4 else self.nhoods_per_image)  # images, or descriptors
        self.levels[lod][begin:begin + len(part)] = part

    def add(self, images):
        images = np.transpose(np.asarray(images, np.float32), (0, 3, 1, 2))  # [N, C, H, W], as the official code
        n = len(images)
        pyramid = laplacian_pyramid(images, self.num_levels)
        pyramid[-1] -= 127.5  # centre the low-pass level: exact after normalisation, and better float32 sums
        for lod, level in enumerate(pyramid):
            _, c, h, w = level.shape
            x, y = neighbourhood_corners(n, h, w, self.nhoods_per_image, self.rng, self.nhood_size)
            desc = np.take(level.reshape(-1), _patch_starts(0, self.nhoods_per_image, x, y, level.shape)[:, None]
                           + _patch_offsets(c, h, w, self.nhood_size))  # [n * nhoods, C * 49]
            sums = np.stack([np.full(desc.shape[1], len(desc)), desc.sum(axis=0), np.einsum("ij,ij->j", desc, desc)])
            self.moments[lod] = self.moments[lod] + sums.reshape(3, c, -1).sum(axis=2, dtype=np.float64)
            total = self.num_images or 0
            if self._keep_images(level):
                self._store(lod, level, (total, c, h, w))
                self.starts[lod].append(_patch_starts(self.filled, self.nhoods_per_image, x, y, level.shape))
            else:
                self._store(lod, desc, (total * self.nhoods_per_image, desc.shape[1]))
        self.filled += n

    def finish(self, lod):
        """(descriptors of level `lod`, (mean [C], std [C])); the set lets go of the level."""
        stored = self.levels[lod]
        if self.num_images is None:
            stored = np.concatenate(stored, axis=0)
        else:
            stored = stored[:self.filled if stored.ndim == 4 else self.filled * self.nhoods_per_image]
        self.levels[lod] = []
        if stored.ndim == 4:
            starts = np.concatenate(self.starts[lod])
            self.starts[lod] = []
            desc = LevelDescriptors(stored, starts, self.nhood_size)
        else:
            desc = stored
        count, total, squares = self.moments[lod]  # each [C]
        mean = total / count
        return desc, (mean, np.sqrt(np.maximum(squares / count - mean ** 2, 0.0)))


def pyramid_resolutions(resolution, resolution_min=16):
    """[resolution, resolution / 2, ..., resolution_min]; just [resolution] when it is below the minimum."""
    resolutions = [resolution]
    while resolutions[-1] // 2 >= resolution_min:
        resolutions.append(resolutions[-1] // 2)
    return resolutions


@register_metric("swd")
def swd(G, data, num_images=10000, *, resolution=None, batch_size=64, seed=0, psi=1.0, resolution_min=16,
        nhoods_per_image=NHOODS_PER_IMAGE, dir_repeats=DIR_REPEATS, dirs_per_repeat=DIRS_PER_REPEAT,
        progress=False):
    """SWD x 10^3 per pyramid level of `num_images` images of G (psi = 1, random noise) against as many reals.

    With `G=None` it is the real-vs-real floor: two disjoint sets of `num_images` reals (the source must
    hold 2 * num_images; `resolution` is then required). Returns {"swd": mean over levels,
    "swd_<res>": each level, "num_images", "seconds"}.
    """
    from stylegan_tf.generation.viz import to_uint8
    from stylegan_tf.metrics.sampling import generated_images, real_images

    resolution = int(resolution or G.resolution)
    resolutions = pyramid_resolutions(resolution, resolution_min)
    sets = [DescriptorSet(len(resolutions), nhoods_per_image, np.random.RandomState([seed, k]), num_images)
            for k in (0, 1)]
    bar = optional_progress_bar(progress, total=2 * num_images, unit="img", desc="swd", leave=False)
    if G is None:  # images 0 .. N-1 of the shuffled reals go to set 0, images N .. 2N-1 to set 1
        done = 0
        for batch in real_images(data, resolution, 2 * num_images, batch_size, seed):
            split = min(max(num_images - done, 0), len(batch))
            for k, part in ((0, batch[:split]), (1, batch[split:])):
                if len(part):
                    sets[k].add(to_uint8(part))
            done += len(batch)
            bar.update(len(batch))
    else:
        sources = (real_images(data, resolution, num_images, batch_size, seed),
                   generated_images(G, num_images, batch_size, seed, psi=psi))
        for k, images in enumerate(sources):
            for batch in images:
                sets[k].add(to_uint8(batch))
                bar.update(len(batch))
    bar.close()
    dir_rng = np.random.RandomState([seed, 2])
    result = {}
    for lod, res in enumerate(resolutions):  # one level at a time, let go of once compared
        (a, norm_a), (b, norm_b) = sets[0].finish(lod), sets[1].finish(lod)
        chunk = int(np.clip(PROJECTION_BYTES // (4 * len(a)), 1, dirs_per_repeat))
        result[f"swd_{res}"] = 1e3 * sliced_wasserstein(a, b, dir_repeats, dirs_per_repeat, dir_rng, norm_a, norm_b,
                                                        chunk=chunk, threads=min(2, os.cpu_count() or 1))
        del a, b
    result = {"swd": float(np.mean(list(result.values()))), **result, "num_images": int(num_images)}
    return result
