"""The options of one error-map run, checked once: :class:`ErrormapConfig` (no torch import)."""

from dataclasses import dataclass
from typing import ClassVar

from ...errors import DnemkitError, check_int
from ..contract import DEFAULT_ENCODER, ExperimentConfig
from ..recorded import DEFAULT_TIERS, check_data_options, check_frames


@dataclass(frozen=True)
class ErrormapConfig(ExperimentConfig):
    """Options of one error-map run (`characterize errormap`), checked once here.

    encoder: an EncoderRef (spec, mouse, models); a spec string uses its first model (``DEFAULT_MODELS``).
    movie_seed: the movie is natural_movie(seed=movie_seed, n_frames=frames) (>= 0); frames: its length
    (>= one sub-batch); recipe: None = the paper's recipe at 40 iterations (a CPU budget; the paper: 1000);
    execution: device, precision, ... video: write errormap.mp4 when ``run`` is given ``out``. ground_truth: spec of the
    mouse whose Poisson responses (seeded by movie_seed) are the recorded activity. mask: 'auto', 'alpha',
    'sensitivity', 'none' or a mask file (dnemkit.masks).

    data: a Sensorium mouse folder or a folder of them: recorded trials replace the natural movie and the ground
    truth (``movie_seed`` and ``ground_truth`` are then unused); each mouse uses the first ``trials`` (default 1)
    labelled trials of ``tiers`` (by id) or the ``trial_ids``, cut to min(``frames``, the shortest one), and its
    own encoder (:func:`dnemkit.experiments.recorded.mouse_encoders`).
    """

    RECIPE: ClassVar = "paper"
    ITERATIONS: ClassVar = {"paper": 40, "fast": 40}
    DEFAULT_MODELS: ClassVar = 1

    encoder: object = DEFAULT_ENCODER
    movie_seed: int = 5000
    frames: int = 300
    ground_truth: object = "synthetic"
    mask: object = "auto"
    data: str | None = None
    tiers: tuple = DEFAULT_TIERS
    trials: int | None = None
    trial_ids: tuple = ()
    recipe: object = None
    execution: object = None
    video: bool = True

    def __post_init__(self):
        self._check_common()
        object.__setattr__(self, "frames", check_int(self.frames, "frames", 1))
        object.__setattr__(self, "movie_seed", check_int(self.movie_seed, "movie seed", 0))
        data = None if self.data is None else str(self.data)
        tiers, trials, ids = check_data_options(data, self.tiers, self.trials, self.trial_ids, default_trials=1)
        for name, value in (("data", data), ("tiers", tiers), ("trials", trials), ("trial_ids", ids)):
            object.__setattr__(self, name, value)
        check_frames(self.frames, self.recipe)
        if self.recipe.stopper != "none":
            raise DnemkitError(f"--stopper {self.recipe.stopper}: the error maps compare reconstructions from recorded "
                               "and from predicted activity run side by side to the same iteration, and predicted "
                               "activity has no noise to stop before; expected --stopper none")
