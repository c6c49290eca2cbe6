"""The options of a dataset study (`characterize study`), checked once: :class:`StudyConfig`."""

import math
from dataclasses import dataclass
from typing import ClassVar

from ...errors import DnemkitError, check_int
from ..contract import DEFAULT_ENCODER, ExperimentConfig

EXECUTORS = ("local", "dask")
#: tiers whose labelled trials `characterize train` learns from: the candidates of the duplicate search
TRAINING_TIERS = ("train", "oracle")


@dataclass(frozen=True)
class StudyConfig(ExperimentConfig):
    """Which clips of which mice are reconstructed how, and how the statistics are made.

    data: a root of Sensorium-layout mouse folders (or one mouse folder); None = the embedded dataset (a simulated
        mouse, made once and cached) reconstructed by the shipped demo encoder.
    encoder: an EncoderRef of a spec string ('demo', 'synthetic' = each simulated mouse's own ground truth,
        'synthetic:SEED', a .pth, a folder of .pth = an ensemble, 'file.py:factory'); its ``mouse`` is the readout
        of a single mouse folder (None = the encoder's default), its ``models`` the first K models (None = all).
    mouse_map: ((folder name or prefix, readout index), ...) for several mice when the encoder does not list its
        mice (encoder.json "mice").
    mice: folder names (or unique prefixes) to include (empty = every mouse folder under ``data``).
    fold, folds: the clips of training fold ``fold`` of ``folds`` (the video-hash split of `characterize train`,
        over the labelled train/oracle trials); None = fold 0 unless ``tiers`` is given. The paper retrained all
        its models with fold 0 held out and reconstructed that fold's first 10 trials per mouse.
    tiers: select the labelled trials of these tiers instead (e.g. live_test_main for the original DwiseNeuro
        ensemble, whose members each held out a different fold).
    trials: the first N selected clips per mouse.
    recipe: the Recipe of every clip (None: the fast recipe at 40 iterations; ``recipe_named('paper')``: 1000);
        its seed is the study's (the fast recipe's sub-batch offsets).
    mask: 'auto' | 'alpha' | 'sensitivity' | 'none' | a mask file (one per mouse: the mouse's readout's mask).
    batch: clips of one mouse per ``reconstruct`` call (None: 1 on a CPU, 8 on a GPU).
    executor, scheduler, workers: 'local', or 'dask' (a scheduler address, else a LocalCluster of ``workers``).
    duplicate_threshold: a clip whose first frame correlates above this with a training clip's, or with a clip
        chosen before it (a repeat of one movie inside the selection), is a duplicate. By default a duplicate is
        replaced, as the reference replaced its "hashing error videos": the next unused clip of the same mouse and
        fold (or tiers) takes its place, so every mouse keeps ``trials`` clips. drop_duplicates: the first
        ``trials`` clips as they are, duplicates reconstructed but left out of the statistics; keep_duplicates:
        the same, duplicates kept in the statistics (they are listed either way).
    ethogram_clips: clips drawn in the ethogram (those nearest the median video r).
    max_lag: lags of the prediction-accuracy x frame-correlation cross-correlation, frames (30 = 1 s).
    reference_format: also write every clip's reconstructions as the reference's ``reconstruction_summary_m{i}_t{t}.npy``
        files (one per model, in ``OUT/modelfold[K]_datafold_0_pop100_hpc_round5/``; i: the mouse's place in the
        study, t: the trial id), so that the reference's notebooks -- and `study --from-reference OUT` -- read them.
    variations: method variations reconstructed beside the standard run ('predicted', 'gradient', 'unsmoothed',
        'train-mask=T', 'train-mask=none'; :mod:`dnemkit.experiments.study.variations`). eval_thresholds:
        evaluation masks level >= t of the threshold sweep (re-scores stored videos), applied to every training-mask
        arm; empty (default) = the reference's sweep, each arm from its training threshold (0 for none) to 1.0 in
        steps of 0.1. input_predictions: the activity predicted from the training-masked true movie and from the
        contrast- and luminance-matched reconstruction as well (two more encoder passes over each clip; Fig. 1 -
        figure supplement 2D).
    methods: methods side by side ('paper', 'fast', 'fast+heldout', 'fast+agreement', 'fast+deviance', 'decoder',
        'decoder+fast'; ``fast`` is added first as the reference of the paired tests;
        :mod:`dnemkit.experiments.study.methods`); empty: none.
    execution: device, precision, compile, ... (an Execution; only precision bf16 enters a clip's id).
    """

    RECIPE: ClassVar = "fast"
    ITERATIONS: ClassVar = {"fast": 40, "paper": 1000}

    data: str | None = None
    encoder: object = DEFAULT_ENCODER
    mouse_map: tuple = ()
    mice: tuple = ()
    fold: int | None = None
    folds: int = 7
    tiers: tuple = ()
    trials: int = 10
    recipe: object = None
    execution: object = None
    mask: str = "auto"
    batch: int | None = None
    executor: str = "local"
    scheduler: str | None = None
    workers: int = 1
    duplicate_threshold: float = 0.95
    keep_duplicates: bool = False
    drop_duplicates: bool = False
    ethogram_clips: int = 1
    max_lag: int = 30
    variations: tuple = ()
    eval_thresholds: tuple = ()
    input_predictions: bool = True
    methods: tuple = ()
    reference_format: bool = False

    def __post_init__(self):
        self._check_common()
        if not self.encoder.has_spec:
            raise DnemkitError("a study's encoder is an object; expected a spec string (each mouse loads its "
                               "readout of it)")
        for name in ("mice", "tiers", "variations", "methods"):
            value = getattr(self, name)
            value = (value,) if isinstance(value, str) else tuple(value or ())
            object.__setattr__(self, name, tuple(str(v) for v in value))
        object.__setattr__(self, "mouse_map", tuple((str(k), check_int(v, f"--mouse-map {k}", 0, "a readout index"))
                                                    for k, v in (dict(self.mouse_map) if self.mouse_map else {}).items()))
        if self.fold is not None and self.tiers:
            raise DnemkitError("both a fold and tiers were given; expected one selection: --fold K (a training "
                               "fold) or --tier NAME (labelled trials of test tiers)")
        check_int(self.folds, "folds", 2, "the number of training folds")
        if self.fold is not None:
            check_int(self.fold, "fold", 0)
            if self.fold >= self.folds:
                raise DnemkitError(f"fold is {self.fold}; expected a fold index 0..{self.folds - 1} (folds={self.folds})")
        check_int(self.trials, "trials", 1, "clips per mouse")
        if self.batch is not None:
            check_int(self.batch, "batch", 1, "clips per reconstruct call")
        if self.executor not in EXECUTORS:
            raise DnemkitError(f"executor is {self.executor!r}; expected 'local' or 'dask'")
        if self.scheduler is not None and self.executor != "dask":
            raise DnemkitError("scheduler is set but executor is 'local'; expected executor='dask' with a scheduler")
        check_int(self.workers, "workers", 1)
        t = self.duplicate_threshold
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or not -1 < t <= 1:
            raise DnemkitError(f"duplicate threshold is {t!r}; expected a correlation in (-1, 1]")
        if self.keep_duplicates and self.drop_duplicates:
            raise DnemkitError("both keep_duplicates and drop_duplicates were given; expected at most one "
                               "(default: duplicates are replaced by the next unused clips)")
        check_int(self.ethogram_clips, "ethogram clips", 0)
        check_int(self.max_lag, "max lag", 0, "frames")
        from .variations import parse_variations

        parse_variations(self.variations)
        from .methods import parse_methods

        object.__setattr__(self, "methods", parse_methods(self.methods))
        try:
            thresholds = tuple(float(t) for t in (self.eval_thresholds or ()))
        except (TypeError, ValueError):
            thresholds = (float("nan"),)
        if not all(math.isfinite(t) and t >= 0 for t in thresholds):
            raise DnemkitError(f"eval thresholds are {self.eval_thresholds!r}; expected numbers >= 0 (or none: each "
                               "training-mask arm from its training threshold to 1.0 in steps of 0.1)")
        object.__setattr__(self, "eval_thresholds", thresholds)

    @property
    def duplicates(self):
        """What happens to a duplicate clip: 'replace' (default), 'drop' or 'keep'."""
        return "keep" if self.keep_duplicates else "drop" if self.drop_duplicates else "replace"

    @property
    def selected_fold(self):
        """The training fold whose clips are reconstructed, or None when tiers select them."""
        return None if self.tiers else (0 if self.fold is None else self.fold)


