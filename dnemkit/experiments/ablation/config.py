"""The options of one population ablation, checked once: :class:`AblationConfig` (no torch import)."""

from dataclasses import dataclass
from typing import ClassVar

from ...analysis.ablation_levels import DEFAULT_KEEP_FRACTIONS, MOVIE_SEED_OFFSET, SUBJECTS, check_keep_fractions
from ...errors import DnemkitError, check_int
from ..contract import DEFAULT_ENCODER, ExperimentConfig
from ..recorded import DEFAULT_TIERS, check_data_options, check_frames


@dataclass(frozen=True)
class AblationConfig(ExperimentConfig):
    """Options of one population ablation (`characterize ablation`), checked once here.

    encoder: an EncoderRef (spec, mouse, models); a spec string uses its first model (``DEFAULT_MODELS``).
    keep_fractions: fractions of the population kept, in (0, 1] (sorted large to small). movies: number of
    natural movies (seeds movie_seed, movie_seed + 1, ...), seeds: number of subset seeds (0..seeds-1), each
    >= 1; frames: movie length (>= one sub-batch); recipe: None = the paper's recipe at 20 iterations (a CPU
    budget; the paper: 1000); execution: device, precision, ...
    ground_truth: spec of the mouse whose Poisson responses are the targets (it must predict the encoder's
    neurons) unless ``predicted`` (the encoder's own prediction). mask: 'auto', 'alpha', 'sensitivity', 'none'
    or a mask file (dnemkit.masks). subjects: the repeated-measures subjects, 'movie' (movies or clips),
    'movie_seed' or 'mouse'; None: mice when the data hold several, else movies (clips).

    data: a Sensorium mouse folder or a folder of them: recorded trials replace the natural movies and the ground
    truth (``movies``, ``movie_seed`` and ``ground_truth`` are then unused). Each mouse uses the first ``trials``
    (default 3) labelled trials of ``tiers`` (by id) or the ``trial_ids``, cut to min(``frames``, the shortest
    one); its encoder: :func:`dnemkit.experiments.recorded.mouse_encoders`.
    """

    RECIPE: ClassVar = "paper"
    ITERATIONS: ClassVar = {"paper": 20, "fast": 40}
    DEFAULT_MODELS: ClassVar = 1

    encoder: object = DEFAULT_ENCODER
    keep_fractions: tuple = DEFAULT_KEEP_FRACTIONS
    movies: int = 3
    seeds: int = 2
    frames: int = 150
    ground_truth: object = "synthetic"
    predicted: bool = False
    mask: object = "auto"
    subjects: str | None = None
    movie_seed: int = MOVIE_SEED_OFFSET
    data: str | None = None
    tiers: tuple = DEFAULT_TIERS
    trials: int | None = None
    trial_ids: tuple = ()
    recipe: object = None
    execution: object = None

    def __post_init__(self):
        self._check_common()
        object.__setattr__(self, "keep_fractions", check_keep_fractions(self.keep_fractions))
        for name in ("movies", "seeds", "frames"):
            object.__setattr__(self, name, check_int(getattr(self, name), name, 1))
        if self.subjects is not None and self.subjects not in SUBJECTS:
            raise DnemkitError(f"subjects is {self.subjects!r}; expected one of {SUBJECTS}")
        if self.recipe.start == "decoder" or self.recipe.stopper == "agreement":
            raise DnemkitError("--start decoder and --stopper agreement read the decoder's movie of every neuron's "
                               "responses, and an ablation removes neurons; expected --start grey with --stopper "
                               "none, heldout or deviance")
        if self.predicted and self.recipe.stopper == "deviance":
            raise DnemkitError("--stopper deviance measures the fit against the targets' Poisson noise, and "
                               "--predicted targets have none; expected --stopper none (or recorded targets)")
        if self.subjects == "mouse" and self.data is None:
            raise DnemkitError("subjects is 'mouse' without --data; expected recorded mice (--data ROOT) for it")
        data = None if self.data is None else str(self.data)
        tiers, trials, ids = check_data_options(data, self.tiers, self.trials, self.trial_ids, default_trials=3)
        for name, value in (("data", data), ("tiers", tiers), ("trials", trials), ("trial_ids", ids)):
            object.__setattr__(self, name, value)
        check_frames(self.frames, self.recipe)
