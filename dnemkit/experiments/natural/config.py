"""The options of one natural-movie reconstruction, checked once: :class:`NaturalConfig` (no torch import)."""

from dataclasses import dataclass
from typing import ClassVar

from ...errors import DnemkitError, check_int, check_number
from ..contract import DEFAULT_ENCODER, ExperimentConfig

HELD_OUT_MOVIE_SEED = 900  #: + seed; simulated training trials use seeds >= 1,000,000, masks 10,000+
PAPER_MODELS = 7


@dataclass(frozen=True)
class NaturalConfig(ExperimentConfig):
    """Options of one natural-movie reconstruction (`characterize natural`).

    encoder: an EncoderRef (spec, mouse, models; a spec string is wrapped); models None = all, at most 7.
    data, trial: a Sensorium mouse folder and trial (recorded responses); movie: a movie file (targets: the
    synthetic mouse's Poisson responses, or the encoder's predictions with ``predicted``); neither: the held-out
    natural movie (seed 900 + ``seed``). keep_fraction: neurons in the loss (a seeded subset). seed: movie,
    Poisson sample and subset. mask: 'auto', 'alpha', 'sensitivity', 'none' or a mask file (dnemkit.masks).
    recipe: None = the fast recipe at 40 iterations (:meth:`recipe_named`); execution: device, precision, ...
    video: write ``natural.mp4`` (ground truth beside the reconstruction) when ``run`` is given ``out``.
    reference_format: also write each model's reconstruction as the reference's ``reconstruction_summary`` file
    (``modelfold[K]_datafold_0_pop100_hpc_round5/``, :mod:`dnemkit.reference.export`), so that its notebooks
    read it.
    Trackers score the video about 10 times over the run.
    """

    RECIPE: ClassVar = "fast"
    ITERATIONS: ClassVar = {"fast": 40, "paper": 1000}

    encoder: object = DEFAULT_ENCODER
    data: str | None = None
    trial: int | None = None
    movie: str | None = None
    predicted: bool = False
    keep_fraction: float = 1.0
    seed: int = 0
    mask: str = "auto"
    recipe: object = None
    execution: object = None
    video: bool = True
    reference_format: bool = False

    @classmethod
    def paper(cls, **changes):
        """The paper's exact run: its recipe at 1000 iterations, its trained alpha mask (unless ``mask`` is
        given), all models up to 7; ``changes`` on top."""
        if changes.get("mask", "auto") == "auto":
            changes["mask"] = "alpha"
        changes.setdefault("recipe", cls.recipe_named("paper"))
        return cls(**changes)

    def __post_init__(self):
        self._check_common()
        if self.data is not None and self.movie is not None:
            raise DnemkitError("--data and --movie were both given; expected one source of the movie (--data DIR "
                               "--trial ID for a recorded trial, or --movie FILE)")
        if self.trial is not None and self.data is None:
            raise DnemkitError("--trial was given without --data; expected --data DIR with it")
        if self.predicted and self.recipe.stopper == "deviance":
            raise DnemkitError("--stopper deviance measures the fit against the targets' Poisson noise, and "
                               "--predicted targets have none; expected --stopper none (or recorded targets)")
        fraction = check_number(self.keep_fraction, "keep fraction", "a value in (0, 1]")
        if not 0 < fraction <= 1:
            raise DnemkitError(f"keep fraction is {self.keep_fraction}; expected a value in (0, 1]")
        object.__setattr__(self, "keep_fraction", fraction)
        object.__setattr__(self, "seed", check_int(self.seed, "seed", 0))
        if self.trial is not None:
            object.__setattr__(self, "trial", check_int(self.trial, "trial", 0, "a trial id"))
