"""Natural-image movies with simulated camera and eye motion.

Each movie is built from the photographs scikit-image ships offline (``NATURAL_IMAGES``), converted to grey. A
virtual camera looks at a larger, anti-aliased copy of an image through a 36 x 64 window and moves:

- ``"pan"``: a smooth pan (eased start and stop) between two random points of the image;
- ``"drift"``: slow ocular drift, a smoothed random walk of a few pixels per second;
- ``"saccades"``: fixations of 0.27-1 s with a little drift, separated by 3-frame jumps of 3-15 pixels;
- ``"mixed"``: shots of 2-5 s, each a new image with one of the three motions, cut together like edited film.

Window positions are sub-pixel; pixels are sampled with bilinear interpolation from the image blurred by a
Gaussian of sigma (zoom - 1) / 2 source pixels (the anti-aliasing scikit-image's ``resize`` uses). Every shot
is contrast-normalised to a mean of 127.5 +- 8 and a std of 40-60 grey levels, then clipped to 0..255.
"""

import functools

import numpy as np
import scipy.ndimage as ndi

from ..errors import DnemkitError, check_int
from .geometry import FPS, HEIGHT, WIDTH, video_dataarray
from ..units import GREY_LEVEL

#: skimage.data photographs that load without a network download (checked with scikit-image 0.26)
NATURAL_IMAGES = ("astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "grass", "gravel", "brick", "moon")
KINDS = ("pan", "drift", "saccades", "mixed")
MOTIONS = ("pan", "drift", "saccades")

_MIN_VIEW_FRACTION = 1.5  # the image spans at least 1.5 windows in each direction, so there is room to move


@functools.lru_cache(maxsize=None)
def load_grey_image(name):
    """A skimage.data photograph as a read-only float32 (H, W) array of grey levels 0..255 (cached)."""
    # imported here: every module that needs the screen geometry imports this package, few need photographs
    import skimage.color
    import skimage.data

    image = getattr(skimage.data, name)()
    if image.ndim == 3:
        image = skimage.color.rgb2gray(image[..., :3]) * 255.0
    image = np.asarray(image, dtype=np.float32)
    image.flags.writeable = False
    return image


def _fold(values, lo, hi):
    """Reflect values into [lo, hi] (the camera bounces off the image border instead of sticking to it)."""
    span = np.maximum(hi - lo, 1e-9)
    phase = np.mod(values - lo, 2 * span)
    return lo + np.where(phase > span, 2 * span - phase, phase)


def _ease(n):
    """0 -> 1 over n samples with zero velocity at both ends."""
    return 0.5 - 0.5 * np.cos(np.pi * np.linspace(0.0, 1.0, n))


def _drift(rng, n, rms_speed):
    """(n, 2) smooth random-walk displacement with the given rms speed (window pixels per frame)."""
    velocity = ndi.gaussian_filter1d(rng.standard_normal((n, 2)), sigma=10.0, axis=0, mode="wrap")
    velocity *= rms_speed / (np.sqrt((velocity**2).sum(axis=1).mean()) + 1e-12)
    return np.cumsum(velocity, axis=0)


def _pan(rng, n, lo, hi):
    start, end = rng.uniform(lo, hi), rng.uniform(lo, hi)
    return start + (end - start) * _ease(n)[:, None]


def _saccades(rng, n, lo, hi, zoom):
    path = np.empty((n, 2))
    position = rng.uniform(lo, hi)
    frame = 0
    while frame < n:
        fixation = int(rng.integers(8, 31))
        stop = min(n, frame + fixation)
        path[frame:stop] = position + zoom * _drift(rng, stop - frame, 0.02)
        frame = stop
        angle = rng.uniform(0, 2 * np.pi)
        target = position + zoom * rng.uniform(3, 15) * np.array([np.sin(angle), np.cos(angle)])
        target = _fold(target, lo, hi)
        stop = min(n, frame + 3)
        path[frame:stop] = position + (target - position) * _ease(5)[1:4, None][: stop - frame]
        position, frame = target, stop
    return path


def _shot(rng, n, name, motion):
    """(n, 36, 64) float32 frames of one shot: ``motion`` over image ``name``, contrast-normalised."""
    image = load_grey_image(name)
    if rng.random() < 0.5:
        image = image[:, ::-1]
    h, w = image.shape
    max_zoom = min(h / (HEIGHT * _MIN_VIEW_FRACTION), w / (WIDTH * _MIN_VIEW_FRACTION))
    zoom = max(1.0, rng.uniform(0.5, 1.0) * max_zoom)  # source pixels per movie pixel
    half = zoom * np.array([HEIGHT, WIDTH]) / 2.0
    lo, hi = half, np.array([h - 1.0, w - 1.0]) - half  # window centres that keep the window on the image

    if motion == "pan":
        centres = _pan(rng, n, lo, hi)
    elif motion == "drift":
        centres = rng.uniform(lo, hi) + zoom * _drift(rng, n, rng.uniform(0.03, 0.12))
    else:
        centres = _saccades(rng, n, lo, hi, zoom)
    centres = _fold(centres, lo, hi)

    blurred = ndi.gaussian_filter(image, sigma=max(0.0, (zoom - 1.0) / 2.0))
    offsets_y = (np.arange(HEIGHT) - (HEIGHT - 1) / 2.0) * zoom
    offsets_x = (np.arange(WIDTH) - (WIDTH - 1) / 2.0) * zoom
    rows = centres[:, 0, None, None] + offsets_y[None, :, None]
    cols = centres[:, 1, None, None] + offsets_x[None, None, :]
    rows, cols = np.broadcast_arrays(rows, cols)
    frames = ndi.map_coordinates(blurred, [rows.ravel(), cols.ravel()], order=1, mode="nearest")
    frames = frames.reshape(n, HEIGHT, WIDTH)

    z = (frames - frames.mean()) / (frames.std() + 1e-6)
    return np.clip(127.5 + rng.uniform(-8, 8) + rng.uniform(42, 60) * z, 0.0, 255.0).astype(np.float32)


def _shots(rng, n_frames, kind):
    """[(start, length, image name, motion)] covering n_frames; one shot unless kind == "mixed"."""
    if kind != "mixed":
        return [(0, n_frames, str(rng.choice(NATURAL_IMAGES)), kind)]
    shots, start, previous = [], 0, None
    while start < n_frames:
        length = int(rng.integers(60, 151))
        if n_frames - start - length < 60:  # no sub-2-s stub at the end: the last shot absorbs it
            length = n_frames - start
        name = str(rng.choice([i for i in NATURAL_IMAGES if i != previous]))
        shots.append((start, length, name, str(rng.choice(MOTIONS))))
        start, previous = start + length, name
    return shots


def natural_movie(seed=0, n_frames=300, kind="mixed"):
    """A grey natural-image movie with camera motion (default 10 s at 30 Hz).

    seed: integer seed; the same seed gives the identical movie, different seeds different movies.
    n_frames: number of frames (>= 1).
    kind: "pan", "drift", "saccades" or "mixed" (see the module docstring).

    Returns an xarray.DataArray, dims (frame, y, x), shape (n_frames, 36, 64), float32 grey levels 0..255.
    attrs: seed, kind, images (comma-separated skimage.data names, one per shot), motions (one per shot),
    shot_starts (first frame of each shot).
    """
    if kind not in KINDS:
        raise DnemkitError(f"kind is {kind!r}; expected one of {KINDS}")
    n_frames, seed = check_int(n_frames, "n_frames", 1), check_int(seed, "seed", 0)

    rng = np.random.default_rng(seed)
    shots = _shots(rng, n_frames, kind)
    video = np.concatenate([_shot(rng, length, name, motion) for _, length, name, motion in shots])
    attrs = {
        "stimulus": "natural_movie",
        "seed": int(seed),
        "kind": kind,
        "images": ",".join(s[2] for s in shots),
        "motions": ",".join(s[3] for s in shots),
        "shot_starts": [s[0] for s in shots],
        "fps": FPS,
        "units": GREY_LEVEL,
    }
    return video_dataarray(video, attrs)
