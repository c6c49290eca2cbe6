"""The linear decoder: ridge regression from time-lagged responses to every pixel of a frame.

:func:`fit_linear_decoder` fits it on training clips (movie, responses) in closed form; :class:`LinearDecoder`
decodes responses to a movie and round-trips through an xarray Dataset (the cache file). Method: docs/method.md,
"The linear decoder".
"""

from dataclasses import asdict, dataclass

import numpy as np
import xarray as xr

from ..errors import DnemkitError, check_int
from ..stimuli.geometry import HEIGHT, WIDTH
from ..units import DIMENSIONLESS, GREY_LEVEL, COUNTS_PER_FRAME
from .ridge import choose, cv_errors, fit_ridge, lag_features


@dataclass(frozen=True)
class DecoderConfig:
    """How the linear decoder is fitted (the defaults were set before any comparison and not tuned on a test clip).

    components: principal components of the z-scored responses the decoder reads (all neurons when there are
    no more neurons than this); lags: the lag counts L tried (frames t..t+L of every component); penalties:
    ridge penalties tried, relative to the mean eigenvalue of the centred Gram matrix; folds: cross-validation
    folds over clips (at most one per clip); pca_every: the principal components are computed from every k-th
    frame (memory: 8000 neurons x 60 clips); min_clips, max_clips: training clips needed and used (a seeded
    choice beyond it). library_movies, library_frames, library_seed: the training movies of an encoder without
    recorded data (natural movies, seeds ``library_seed + k``, disjoint from the held-out movies (900+), the
    masks' (10,000+) and the simulated recordings' (1,000,000 + 1000 s + k)). seed: the clip choice and the
    library's Poisson draws.
    """

    components: int = 100
    lags: tuple = (0, 1, 2, 3, 4, 6, 8, 10)
    penalties: tuple = tuple(float(10.0 ** e) for e in np.arange(-4, 2.01, 0.5))
    folds: int = 5
    pca_every: int = 4
    min_clips: int = 4
    max_clips: int = 64
    library_movies: int = 32
    library_frames: int = 300
    library_seed: int = 3_000_000
    seed: int = 0

    def __post_init__(self):
        for name, low in (("components", 1), ("folds", 2), ("pca_every", 1), ("min_clips", 2), ("max_clips", 2),
                          ("library_movies", 2), ("library_frames", 32), ("library_seed", 0), ("seed", 0)):
            object.__setattr__(self, name, check_int(getattr(self, name), name, low))
        lags = tuple(check_int(v, "lags", 0) for v in self.lags)
        if not lags or any(p <= 0 for p in self.penalties):
            raise DnemkitError("decoder lags and penalties must be non-empty, penalties > 0")
        object.__setattr__(self, "lags", lags)
        object.__setattr__(self, "penalties", tuple(float(p) for p in self.penalties))

    def to_dict(self):
        return asdict(self)


def _top_components(r, k, rng):
    """(N, k) orthonormal top principal directions of the centred (n, N) matrix ``r`` by a seeded randomized SVD
    (range finder with two power iterations): exact enough for a feature reduction, O(n N k)."""
    q = r @ rng.standard_normal((r.shape[1], k + 10))
    for _ in range(2):
        q, _ = np.linalg.qr(q)
        q = r @ (r.T @ q)
    q, _ = np.linalg.qr(q)
    _, _, vt = np.linalg.svd(q.T @ r, full_matrices=False)
    return vt[:k].T


class LinearDecoder:
    """Responses -> movie: z-score each neuron, project onto principal components, stack lags t..t+L, ridge.

    Attributes: mean, scale (N,) counts/frame; projection (N, K); lags (L); weights ((L + 1) K, 36 * 64);
    feature_mean ((L + 1) K,); pixel_mean (36 * 64,); penalty (absolute), relative_penalty; cv_rmse
    (len(lags tried), len(penalties tried)) grey levels; lags_tried, penalties_tried; source (one line: what it
    was fitted on); n_clips, n_frames.
    """

    def __init__(self, mean, scale, projection, lags, weights, feature_mean, pixel_mean, penalty, relative_penalty,
                 cv_rmse, lags_tried, penalties_tried, source, n_clips, n_frames):
        self.mean, self.scale, self.projection = mean, scale, projection
        self.lags, self.weights, self.feature_mean, self.pixel_mean = int(lags), weights, feature_mean, pixel_mean
        self.penalty, self.relative_penalty = float(penalty), float(relative_penalty)
        self.cv_rmse, self.lags_tried, self.penalties_tried = cv_rmse, np.asarray(lags_tried), \
            np.asarray(penalties_tried, np.float64)
        self.source, self.n_clips, self.n_frames = str(source), int(n_clips), int(n_frames)

    @property
    def n_neurons(self):
        return len(self.mean)

    def summary(self):
        """One line: lags, penalty, cross-validated error, what it was fitted on."""
        best = float(np.min(self.cv_rmse))
        return (f"decoder: ridge on frames t..t+{self.lags} of {self.projection.shape[1]} response components "
                f"(penalty {self.relative_penalty:g} x mean eigenvalue, chosen by {self.cv_rmse.shape[0]} lags x "
                f"{self.cv_rmse.shape[1]} penalties cross-validated over clips; RMSE {best:.1f} grey levels), fitted "
                f"on {self.source}")

    def features(self, responses):
        """(N, T) responses -> (T, K) components."""
        return ((np.asarray(responses, np.float64).T - self.mean) / self.scale) @ self.projection

    def decode(self, responses):
        """Movie(s) (T, 36, 64) or (B, T, 36, 64) float32 grey levels, clipped to 0..255, from responses (N, T)
        or (B, N, T) counts/frame (negative values set to 0, as the reconstruction's targets)."""
        r = np.asarray(responses, np.float32)
        single = r.ndim == 2
        r = r[None] if single else r
        if r.ndim != 3 or r.shape[1] != self.n_neurons:
            raise DnemkitError(f"responses have shape {tuple(np.shape(responses))}; the decoder reads "
                               f"{self.n_neurons} neurons (N, T) or (B, N, T)")
        if not np.isfinite(r).all():
            raise DnemkitError("responses contain NaN or inf; expected finite values")
        out = []
        for one in np.clip(r, 0, None):
            x = lag_features(self.features(one), self.lags) - self.feature_mean
            y = x @ self.weights + self.pixel_mean
            out.append(np.clip(y, 0, 255).reshape(-1, HEIGHT, WIDTH).astype(np.float32))
        out = np.stack(out)
        return out[0] if single else out

    def to_dataset(self, **attrs):
        """The decoder as an xarray Dataset (named dims, units; ``attrs`` added)."""
        k = self.projection.shape[1]
        lags = self.lags + 1
        ds = xr.Dataset({
            "response_mean": (("neuron",), self.mean.astype(np.float64), {"units": COUNTS_PER_FRAME}),
            "response_scale": (("neuron",), self.scale.astype(np.float64), {"units": COUNTS_PER_FRAME}),
            "projection": (("neuron", "component"), self.projection, {
                "units": DIMENSIONLESS, "long_name": "principal directions of the z-scored responses"}),
            "weights": (("lag", "component", "y", "x"), self.weights.reshape(lags, k, HEIGHT, WIDTH), {
                "units": GREY_LEVEL, "long_name": "ridge weights: grey level per unit of component at frame t+lag"}),
            "feature_mean": (("lag", "component"), self.feature_mean.reshape(lags, k), {"units": DIMENSIONLESS}),
            "pixel_mean": (("y", "x"), self.pixel_mean.reshape(HEIGHT, WIDTH), {"units": GREY_LEVEL}),
            "cv_rmse": (("lags_tried", "penalty_tried"), self.cv_rmse, {
                "units": GREY_LEVEL, "long_name": "cross-validated RMSE per pixel and frame"}),
        }, coords={"lag": np.arange(lags), "lags_tried": self.lags_tried, "penalty_tried": self.penalties_tried})
        ds["lag"].attrs["units"] = "frame"
        ds.attrs.update(attrs)
        ds.attrs.update(lags=self.lags, penalty=self.penalty, relative_penalty=self.relative_penalty,
                        source=self.source, n_clips=self.n_clips, n_frames=self.n_frames, summary=self.summary())
        return ds

    @classmethod
    def from_dataset(cls, ds):
        """The decoder a :meth:`to_dataset` Dataset holds."""
        lags = int(ds.attrs["lags"])
        k = ds.sizes["component"]
        return cls(ds["response_mean"].values, ds["response_scale"].values, ds["projection"].values, lags,
                   ds["weights"].values.reshape((lags + 1) * k, HEIGHT * WIDTH),
                   ds["feature_mean"].values.reshape(-1), ds["pixel_mean"].values.reshape(-1),
                   ds.attrs["penalty"], ds.attrs["relative_penalty"], ds["cv_rmse"].values,
                   ds["lags_tried"].values, ds["penalty_tried"].values, ds.attrs["source"], ds.attrs["n_clips"],
                   ds.attrs["n_frames"])


def fit_linear_decoder(videos, responses, source, config=DecoderConfig()):
    """Fit the decoder on training clips: ``videos`` a list of (T_j, 36, 64) grey levels, ``responses`` a list of
    (N, T_j) counts/frame (the same clips). The lag count and penalty are chosen by ``config.folds``-fold
    cross-validation over clips (squared error over all pixels and frames), then it is refitted on every clip.
    Too few clips: DnemkitError (one line)."""
    n = len(videos)
    if n != len(responses):
        raise DnemkitError(f"{n} training movies but {len(responses)} response arrays; expected one per movie")
    if n < config.min_clips:
        raise DnemkitError(f"the decoder needs at least {config.min_clips} training clips to be fitted and "
                           f"cross-validated; {source} gives {n}")
    rs = [np.clip(np.asarray(r, np.float32), 0, None) for r in responses]
    sample = np.concatenate([r[:, ::config.pca_every] for r in rs], axis=1).T.astype(np.float64)  # (frames, N)
    mean = sample.mean(0)
    scale = sample.std(0) + 1e-3  # a silent neuron gets a finite scale and contributes ~0
    z = (sample - mean) / scale
    n_neurons = z.shape[1]
    if n_neurons <= config.components:
        projection = np.eye(n_neurons)
    else:
        projection = _top_components(z, config.components, np.random.default_rng(config.seed))
    zs = [((r.T.astype(np.float64) - mean) / scale) @ projection for r in rs]
    ys = [np.asarray(v, np.float64).reshape(len(v), -1) for v in videos]
    folds = min(config.folds, n)
    errors = cv_errors(zs, ys, config.lags, config.penalties, folds)
    lags, relative = choose(errors, config.lags, config.penalties)
    w, mx, my, lam = fit_ridge(zs, ys, lags, relative)
    frames = sum(len(y) for y in ys)
    rmse = np.sqrt(errors / (frames * HEIGHT * WIDTH))
    return LinearDecoder(mean, scale, projection, lags, w, mx, my, lam, relative, rmse, config.lags,
                         config.penalties, source, n, frames)
