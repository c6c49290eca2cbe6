"""characterize rf"""


import click

from .common import EchoLog, encoder_options, mask_option, print_results, quiet_option, user_errors


def register(main):
    from ..experiments.contract import field_defaults
    from ..experiments.rf.config import RFConfig

    d = field_defaults(RFConfig)

    @main.command()
    @encoder_options
    @click.option("--out", type=click.Path(file_okay=False), default="rf-out", show_default=True,
                  help="Folder for rf.nc and the figures.")
    @click.option("--chunk", type=click.IntRange(min=1), default=d["chunk"],
                  help="Positions per encoder call (x 2 polarities). Default: 64, or 1 for DwiseNeuro on a CPU.")
    @click.option("--fit-max", type=click.IntRange(min=0), default=d["fit_max"],
                  help="Fit 2-D Gaussians to at most N responsive neurons (strongest first; ~18 ms each). "
                       "Default: all.")
    @click.option("--no-fit", is_flag=True, default=not d["fit"], help="Skip the Gaussian fits.")
    @click.option("--models", type=click.IntRange(min=1), default=None,
                  help="Map with the first K models of an ensemble (default: every model; each model's "
                       "responses are kept).")
    @click.option("--lead-in", type=click.IntRange(min=0), default=d["lead_in"],
                  help="Grey frames before each clip so every analysed frame has a full history "
                       "(default: the encoder's first valid frame, 30 for DwiseNeuro and the synthetic mouse).")
    @click.option("--ground-truth", default=d["ground_truth"], show_default=True,
                  help="Compare centres with true ones: auto (the synthetic mouse for 'synthetic' and 'demo'), "
                       "none, or synthetic[:seed].")
    @mask_option
    @click.option("--step", type=click.IntRange(min=1), default=d["step"], show_default=True,
                  help="Flash every STEP-th row and column only (STEP^2 times faster; unflashed pixels count as "
                       "no response). DwiseNeuro on a 2-core CPU maps about 30 positions a minute per model.")
    @click.option("--device", default=d["device"], show_default=True, help="auto | cpu | cuda[:k]")
    @quiet_option
    @user_errors
    def rf(encoder_spec, mouse, out, chunk, fit_max, no_fit, models, lead_in, ground_truth, mask, step, device,
           quiet):
        """Map every neuron's ON and OFF receptive field with single-pixel flashes.

        Each of the 36 x 64 pixels is flashed to 255 (ON) and 0 (OFF) on grey for 15 frames between 15 grey
        frames before and after (docs/method.md, "Stimuli"), after LEAD-IN grey frames; every model's mean responses are kept,
        and the maps use their average. Writes OUT/rf.nc and OUT/rf_examples.png, rf_population.png,
        rf_centres.png, rf_mask.png.
        """
        from ..encoders.ref import EncoderRef
        from ..experiments.rf import run

        config = RFConfig(encoder=EncoderRef(encoder_spec, mouse, models), chunk=chunk, lead_in=lead_in,
                          fit=not no_fit, fit_max=fit_max, step=step, ground_truth=ground_truth, mask=mask,
                          device=device)
        log = EchoLog()
        ds = run(config, out=out, progress=not quiet, log=log)
        print_results(ds, ds.encoding["files"], said=log)
