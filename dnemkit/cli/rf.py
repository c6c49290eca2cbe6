"""characterize rf"""

from pathlib import Path

import click

from .common import encoder_options, quiet_option, user_errors


def truth_for(ground_truth, encoder, spec):
    """The true neuron properties to compare with, or None.

    'auto': the encoder's own properties() when it has them (the synthetic mouse), the synthetic mouse (seed 0)
    for the demo encoder when the neuron counts match (the demo is trained on it); 'none': no comparison; any
    other spec: that encoder's properties() (it must have the encoder's neurons).
    """
    from ..encoders import SyntheticMouse, load_encoder
    from ..errors import DnemkitError

    choice = str(ground_truth).strip()
    if choice.lower() == "none":
        return None, ""
    if choice.lower() == "auto":
        if hasattr(encoder, "properties"):
            return encoder.properties(), f"the true RFs of {spec}"
        if spec == "demo":
            truth = SyntheticMouse(0)
            return (truth.properties(), "synthetic:0") if truth.n_neurons == encoder.n_neurons else (None, "")
        return None, ""
    truth = load_encoder(choice)
    if not hasattr(truth, "properties"):
        raise DnemkitError(f"--ground-truth {choice} has no known neuron properties; expected 'auto', 'none' or "
                           "'synthetic[:seed]'")
    if truth.n_neurons != encoder.n_neurons:
        raise DnemkitError(f"--ground-truth {choice} has {truth.n_neurons} neurons; the encoder predicts "
                           f"{encoder.n_neurons}; expected the same neurons")
    return truth.properties(), choice


def register(main):
    @main.command()
    @encoder_options
    @click.option("--out", type=click.Path(file_okay=False), default="rf-out", show_default=True,
                  help="Folder for rf.nc and the figures.")
    @click.option("--chunk", type=click.IntRange(min=1), default=None,
                  help="Positions per encoder call (x 2 polarities). Default: 64, or 1 for DwiseNeuro on a CPU.")
    @click.option("--fit-max", type=click.IntRange(min=0), default=None,
                  help="Fit 2-D Gaussians to at most N responsive neurons (strongest first; ~18 ms each). "
                       "Default: all.")
    @click.option("--no-fit", is_flag=True, help="Skip the Gaussian fits.")
    @click.option("--models", type=click.IntRange(min=1), default=None,
                  help="Map with the first K models of an ensemble (default: every model; each model's "
                       "responses are kept).")
    @click.option("--lead-in", type=click.IntRange(min=0), default=None,
                  help="Grey frames before each clip so every analysed frame has a full history "
                       "(default: the encoder's first valid frame, 30 for DwiseNeuro and the synthetic mouse).")
    @click.option("--ground-truth", default="auto", show_default=True,
                  help="Compare centres with true ones: auto (the synthetic mouse for 'synthetic' and 'demo'), "
                       "none, or synthetic[:seed].")
    @click.option("--mask", default="auto", show_default=True,
                  help="Alpha mask drawn over the population RF: auto (the encoder's, trained and cached on "
                       "first use), none, or a mask.nc/.npy file.")
    @click.option("--step", type=click.IntRange(min=1), default=1, show_default=True,
                  help="Flash every STEP-th row and column only (STEP^2 times faster; unflashed pixels count as "
                       "no response). DwiseNeuro on a 2-core CPU maps about 30 positions a minute per model.")
    @quiet_option
    @user_errors
    def rf(encoder_spec, mouse, out, chunk, fit_max, no_fit, models, lead_in, ground_truth, mask, step, quiet):
        """Map every neuron's ON and OFF receptive field with single-pixel flashes.

        Each of the 36 x 64 pixels is flashed to 255 (ON) and 0 (OFF) on grey for 15 frames between 15 grey
        frames before and after (docs/method.md, "Stimuli"), after LEAD-IN grey frames; every model's mean responses are kept,
        and the maps use their average. Writes OUT/rf.nc and OUT/rf_examples.png, rf_population.png,
        rf_centres.png, rf_mask.png.
        """
        import numpy as np

        from ..experiments.ablation import resolve_mask
        from ..encoders import select_models
        from ..experiments.rf import compare_to_truth, map_receptive_fields
        from ..encoders import load_encoder
        from ..encoders.base import probe_encoder
        from ..io.results import write_dataset
        from ..viz.kinds import echo_headline, write_figures

        encoder = select_models(load_encoder(encoder_spec, mouse), models)
        # the mask ('auto' may train one) differentiates the encoder; the flashes only need its rates
        probe_encoder(encoder, need_grad=str(mask).lower() == "auto")
        truth, truth_name = truth_for(ground_truth, encoder, encoder_spec)
        alpha = resolve_mask(mask, encoder, encoder_spec, mouse, progress=not quiet)
        positions = None if step == 1 else np.array(
            [[r, c] for r in range(step // 2, 36, step) for c in range(step // 2, 64, step)])
        ds = map_receptive_fields(encoder, chunk=chunk, lead_in=lead_in, fit=not no_fit, fit_max=fit_max,
                                  positions=positions, progress=not quiet)
        ds.attrs["position_step"] = step
        ds.attrs.update(encoder=encoder_spec, mouse="" if mouse is None else int(mouse), mask=str(mask),
                        ground_truth=truth_name)
        if truth is not None:
            ds = compare_to_truth(ds, truth)
        if alpha is not None:
            ds["train_mask"] = (("y", "x"), alpha.train.astype(np.uint8))
            ds["eval_mask"] = (("y", "x"), alpha.eval.astype(np.uint8))
        out = Path(out)
        write_dataset(ds, out / "rf.nc")
        figures = write_figures(ds, out)
        echo_headline(ds, click.echo)
        click.echo("results: " + ", ".join(str(f) for f in [out / "rf.nc", *figures]))
