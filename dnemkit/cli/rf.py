"""characterize rf"""


import click

from .common import encoder_options, print_results, quiet_option, save_results, user_errors


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
        from ..experiments.rf import RFConfig, run_rf

        config = RFConfig(encoder=encoder_spec, mouse=mouse, models=models, chunk=chunk, lead_in=lead_in,
                          fit=not no_fit, fit_max=fit_max, step=step, ground_truth=ground_truth, mask=mask)
        ds = run_rf(config, progress=not quiet, log=click.echo)
        print_results(ds, save_results(ds, out))
