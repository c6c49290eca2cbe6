"""characterize errormap"""

import click

from .ablation import data_options, unused_with_data
from .common import (EchoLog, encoder_options, execution_options, mask_option, method_options, movie_run_options,
                     print_results, quiet_option, user_errors, with_method)


def register(main):
    from ..experiments.errormap.config import ErrormapConfig

    @main.command()
    @encoder_options
    @movie_run_options(ErrormapConfig)
    @method_options
    @mask_option
    @data_options(ErrormapConfig, default_trials=1)
    @click.option("--out", type=click.Path(file_okay=False), default="errormap-out", show_default=True)
    @click.option("--no-video", is_flag=True, help="Skip the MP4 overlay.")
    @execution_options
    @quiet_option
    @user_errors
    @click.pass_context
    def errormap(ctx, encoder_spec, mouse, movie_seed, frames, recipe, ground_truth, models, method, mask, data,
                 tiers, trials, trial_ids, out, no_video, execution, quiet):
        """Error maps between reconstructions from recorded and from predicted activity.

        One movie is reconstructed from the ground-truth mouse's Poisson responses and from the encoder's
        prediction (one batched call); E+ = max(E, 0) and E- = max(-E, 0) with E = recorded - predicted, both
        smoothed and masked. Writes OUT/errormap.nc, OUT/errormap.png and OUT/errormap.mp4 (reconstruction from
        recorded | from predicted | ground truth with E+ in red and E- in blue), and OUT/errormap_delta_r.png: per
        neuron, r(recorded, predicted from the true movie) - r(recorded, predicted from the reconstruction) (the
        paper's Fig. 6C). With --data, every chosen recorded trial of every mouse (each cut to --frames) gets its
        error maps; the movie shows the first clip.
        """
        unused_with_data(ctx, data, ("movie_seed", "ground_truth"))
        from ..encoders.ref import EncoderRef
        from ..experiments.errormap import run

        recipe = with_method(recipe, method, ctx.params.get("iterations") is not None)
        config = ErrormapConfig(encoder=EncoderRef(encoder_spec, mouse, models), movie_seed=movie_seed,
                                frames=frames, recipe=recipe, execution=execution, ground_truth=ground_truth,
                                mask=mask, data=data, tiers=tiers, trials=trials, trial_ids=trial_ids,
                                video=not no_video)
        log = EchoLog()
        ds = run(config, out=out, progress=not quiet, log=log)
        print_results(ds, ds.encoding["files"], said=log)
