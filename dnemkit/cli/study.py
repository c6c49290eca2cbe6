"""characterize study"""

from pathlib import Path

import click

from .common import (EchoLog, execution_options, mask_option, parse_list, print_results, quiet_option, recipe_options,
                     user_errors)
from ..errors import DnemkitError
from .executor import executor_options




def _names(text):
    return tuple(s.strip() for s in str(text).split(",") if s.strip()) if text else ()


def _mouse_map(text):
    """'NAME=0,OTHER=1' -> (('NAME', 0), ('OTHER', 1)), one clear error for anything else."""
    pairs = []
    for item in _names(text):
        name, sep, index = item.partition("=")
        if not sep or not name.strip() or not index.strip().isdigit():
            raise click.BadParameter(f"{item!r} is not NAME=INDEX; expected e.g. dynamic29515=0,dynamic29623=1",
                                     param_hint="--mouse-map")
        pairs.append((name.strip(), int(index)))
    return tuple(pairs)


def _run_study(config, out, quiet):
    """Run the study of ``config`` into the folder ``out`` and print its results; exit status 130 (the store
    kept, the command to resume printed) when interrupted. The embedded study is announced, and followed by the
    commands of the paper-sized study."""
    from ..experiments.runs import Interrupted
    from ..experiments.study import run

    embedded = config.data is None
    if embedded:
        click.echo("the embedded study: the demo encoder on 6 held-out clips of its simulated mouse")
    try:
        log = EchoLog()
        ds = run(config, out=out, progress=not quiet, log=log)
    except Interrupted as exc:
        click.echo(f"interrupted: {exc.done} of {exc.total} clips are stored in {out / 'study.store'}; run the "
                   "same command again to resume", err=True)
        raise SystemExit(130) from None
    print_results(ds, ds.encoding["files"], said=log)
    if embedded:
        click.echo("the paper-sized study (5 simulated mice x 10 clips, each mouse's own ground truth; ~11 min "
                   "here):\n  for s in 0 1 2 3 4; do characterize simulate --out sim --seed $s --trials 90; done\n"
                   "  characterize study --data sim --encoder synthetic --variations predicted,unsmoothed\n"
                   "your dataset: characterize study --data ROOT --encoder MODELS/ [--mouse-map NAME=INDEX,...] "
                   "[--recipe paper]")


#: the options `study --from-reference` takes (the others choose data, encoders and recipes: nothing to choose)
REFERENCE_OPTIONS = ("reference_dir", "out", "ethogram_clips", "quiet")


def _study_from_reference(folder, out, ethogram_clips, quiet):
    """`characterize study --from-reference DIR`: the paper's reconstructions through the study, printed with the
    paper's values beside ours; one line for an option that does not apply."""
    from click.core import ParameterSource

    from ..reference.study import paper_lines, reference_study

    ctx = click.get_current_context()
    given = [p for p in ctx.command.params if p.name not in REFERENCE_OPTIONS
             and ctx.get_parameter_source(p.name) == ParameterSource.COMMANDLINE]
    if given:
        raise DnemkitError(f"--from-reference reads the paper's reconstructions; {given[0].opts[-1]} does not apply "
                           "(expected only --out, --ethogram-clips and --quiet with it)")
    log = EchoLog()
    study, ablation = reference_study(folder, out=out, ethogram_clips=ethogram_clips, progress=not quiet, log=log)
    files = study.encoding["files"] + (ablation.encoding["files"] if ablation is not None else [])
    print_results(study, files, said=log)
    for line in paper_lines(study, ablation):
        click.echo(line)


def register(main):
    """Add `characterize study` to ``main``.

    Long because the command is declared as one decorator per option (33 options with their help texts, some
    through the shared recipe, mask, executor and execution stacks); the command body only builds the
    StudyConfig and hands it to :func:`_run_study`.
    """
    from ..experiments.contract import DEFAULT_ENCODER, field_defaults
    from ..experiments.study.config import EXECUTORS, StudyConfig

    d = field_defaults(StudyConfig)  # the command's only defaults (importing the config loads no torch)

    @main.command()
    @click.option("--data", type=click.Path(), default=d["data"],
                  help="Root of Sensorium-layout mouse folders (or one mouse folder). Default: the embedded dataset "
                       "(the demo's simulated mouse, made once and cached).")
    @click.option("--encoder", "encoder_spec", default=DEFAULT_ENCODER, show_default=True,
                  help="demo | synthetic (each simulated mouse's own ground truth) | synthetic:SEED | model.pth | "
                       "folder of .pth (an ensemble) | file.py:factory")
    @click.option("--mouse", type=click.IntRange(min=0), default=None,
                  help="Readout of a single mouse folder (default: the encoder's first).")
    @click.option("--mouse-map", default="", help="NAME=INDEX,... folder name (or prefix) = readout index, when "
                  "the encoder does not list its mice (encoder.json 'mice').")
    @click.option("--mice", default="", help="Mouse folders (names or prefixes, comma-separated); default: all.")
    @click.option("--fold", type=click.IntRange(min=0), default=d["fold"],
                  help="Reconstruct the clips of training fold K (the video-hash split of `characterize train`). "
                       "Default: fold 0 (the paper's: held out from all its models) unless --tier is given.")
    @click.option("--folds", type=click.IntRange(min=2), default=d["folds"], show_default=True)
    @click.option("--tier", "tiers", default="", help="Reconstruct the labelled trials of these tiers instead "
                  "(e.g. live_test_main for the original DwiseNeuro ensemble, whose models each held out a "
                  "different fold).")
    @click.option("--trials", type=click.IntRange(min=1), default=d["trials"], show_default=True,
                  help="The first N selected clips per mouse.")
    @recipe_options(StudyConfig)
    @click.option("--models", type=click.IntRange(min=1), default=None,
                  help="The first K models of an ensemble (default: all; every model's video is kept).")
    @mask_option
    @click.option("--batch", type=click.IntRange(min=1), default=d["batch"],
                  help="Clips of one mouse per reconstruct call (default: 1 on a CPU, 8 on a GPU).")
    @executor_options(EXECUTORS, d["executor"], d["scheduler"], d["workers"])
    @click.option("--duplicate-threshold", type=float, default=d["duplicate_threshold"], show_default=True,
                  help="A clip whose first frame correlates above this with a training clip's, or with an earlier "
                       "selected clip's, is a duplicate; by default it is replaced by the next unused clip of the "
                       "same mouse and fold (the reference's), so each mouse keeps --trials clips.")
    @click.option("--drop-duplicates", is_flag=True, default=d["drop_duplicates"],
                  help="Take the first --trials clips as they are and leave duplicates out of the statistics "
                       "(dnemkit before 2026-12-07) instead of replacing them.")
    @click.option("--keep-duplicates", is_flag=True, default=d["keep_duplicates"],
                  help="Take the first --trials clips as they are and keep duplicates in the statistics (they are "
                       "listed either way).")
    @click.option("--ethogram-clips", type=click.IntRange(min=0), default=d["ethogram_clips"], show_default=True,
                  help="Clips drawn in the ethogram (those nearest the median video r).")
    @click.option("--variations", default="", help="Method variations beside the standard run, comma-separated: "
                  "predicted (targets: predicted activity), gradient (gradient ensembling; 2+ models), unsmoothed "
                  "(no final filter; re-scores), train-mask=T (training mask level >= T; train-mask=none: every pixel).")
    @click.option("--methods", default="", help="Methods side by side, each clip by each, comma-separated: paper, "
                  "fast, fast+heldout (held-out stopper, budget 200), fast+agreement (agreement stopper: video r "
                  "with the decoder's movie, budget 200), fast+deviance (deviance stopper: the fit to the responses "
                  "levels off, budget 200), decoder (the linear decoder's movie alone), "
                  "decoder+fast (fast from the decoder's movie); fast is the reference of the paired tests (added; "
                  "the standard run's units when the study's recipe is fast).")
    @click.option("--eval-thresholds", default=",".join(f"{t:g}" for t in d["eval_thresholds"]),
                  help="Evaluation masks level >= t of the threshold sweep, for every training-mask arm (re-scores "
                       "the stored videos). Default: the reference's, each arm from its training threshold (0 for "
                       "train-mask=none) to 1.0 in steps of 0.1.")
    @click.option("--input-predictions/--no-input-predictions", default=d["input_predictions"], show_default=True,
                  help="Also predict the activity from the eval-masked true movie and the contrast-matched "
                       "reconstruction (two more encoder passes per clip).")
    @click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                  help="The recipe's seed (the fast recipe's sub-batch offsets).")
    @click.option("--out", type=click.Path(file_okay=False), default="study-out", show_default=True,
                  help="Folder for study.nc, the figures and study.store/ (finished clips: a rerun resumes).")
    @click.option("--reference-format", is_flag=True, default=d["reference_format"],
                  help="Also write every clip's reconstructions as the reference's reconstruction_summary files "
                       "(OUT/modelfold[K]_datafold_0_pop100_hpc_round5/, one per model; m{i}: the study's i-th mouse), "
                       "which its notebooks and --from-reference read.")
    @click.option("--from-reference", "reference_dir", type=click.Path(file_okay=False), default=None, metavar="DIR",
                  help="Reconstruct nothing: the study of the paper's own reconstructions in DIR (characterize "
                       "fetch paper-reconstructions; with --set ablation beside it, the ablation too), scored as its "
                       "notebooks do, the paper's values printed beside ours; writes OUT/study.nc (and ablation.nc) "
                       "and the figures. Takes only --out, --ethogram-clips and --quiet.")
    @execution_options
    @quiet_option
    @user_errors
    def study(encoder_spec, mouse, models, mouse_map, mice, tiers, variations, methods, eval_thresholds, out, recipe,
              seed,
              quiet, reference_dir, **options):
        """Reconstruct every selected clip of every mouse of a dataset and compute the paper's statistics.

        With no arguments: the embedded dataset (6 five-second clips of the demo's simulated mouse, movies no
        shipped model saw) and the demo encoder, fast recipe: 4 minutes on an idle 2-core CPU from a fresh clone.
        Writes OUT/study.nc (per-clip video and frame r, their mean with a 95 % CI, tests against random videos,
        the ensemble-size curve and its repeated-measures ANOVA, what predicts quality, duplicates, the ethogram,
        variations, the evaluation-threshold sweep), OUT/study*.png, and OUT/study.store/ (one file per finished
        clip: interrupt and rerun, nothing is recomputed). The paper-sized run on simulated data:
        `characterize simulate --out sim --seed S --trials 90` for S = 0..4, then
        `characterize study --data sim --encoder synthetic`.
        """
        if reference_dir is not None:
            _study_from_reference(reference_dir, Path(out), options["ethogram_clips"], quiet)
            return
        from ..encoders.ref import EncoderRef

        config = StudyConfig(encoder=EncoderRef(encoder_spec, mouse, models), mouse_map=_mouse_map(mouse_map),
                             mice=_names(mice), tiers=_names(tiers), variations=_names(variations),
                             methods=_names(methods),
                             eval_thresholds=parse_list(eval_thresholds, "--eval-thresholds") if eval_thresholds.strip() else (),
                             recipe=recipe.replace(seed=seed), **options)
        _run_study(config, Path(out), quiet)
