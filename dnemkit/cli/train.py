"""characterize train --data DIR --out DIR [options]: train a DwiseNeuro on one Sensorium-layout mouse."""

import click

from .common import quiet_option, user_errors


def register(main):
    @main.command("train")
    @click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False),
                  help="A Sensorium-layout mouse folder, or a dataset root holding mice (pick one with --mouse).")
    @click.option("--out", "out_dir", required=True, type=click.Path(dir_okay=True, file_okay=False),
                  help="Folder for the checkpoints; re-running the same command resumes there.")
    @click.option("--config", "model", type=click.Choice(["full", "small", "demo"]), default="full", show_default=True,
                  help="DwiseNeuro size: full (the paper's), small (trains on a CPU) or demo (the shipped demo's).")
    @click.option("--folds", type=int, default=7, show_default=True, help="Folds, split by movie.")
    @click.option("--fold", type=int, default=0, show_default=True, help="The validation fold, 0..folds-1.")
    @click.option("--all-folds", is_flag=True, help="Train every fold in turn, into OUT/fold-K.")
    @click.option("--epochs", type=int, default=21, show_default=True)
    @click.option("--samples-per-epoch", type=int, default=72_000, show_default=True)
    @click.option("--batch-size", type=int, default=32, show_default=True)
    @click.option("--lr", type=float, default=None, help="Peak learning rate [default: 3e-4 * batch size / 4].")
    @click.option("--ema-decay", type=float, default=0.999, show_default=True,
                  help="Per-step EMA decay; short runs (few hundred steps) want ~0.9-0.99.")
    @click.option("--seed", type=int, default=0, show_default=True)
    @click.option("--mouse", default=None, help="Mouse folder name (or unique prefix) inside a dataset root.")
    @click.option("--threads", "num_threads", type=int, default=None, help="torch CPU threads.")
    @click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:K.")
    @click.option("--keep-all-checkpoints", is_flag=True, help="Keep every epoch's checkpoint, not only the best.")
    @click.option("--default-readout-bias", is_flag=True,
                  help="Keep PyTorch's default readout bias (the reference's) instead of starting it at each "
                       "neuron's mean response.")
    @quiet_option
    @user_errors
    def train_command(data_dir, out_dir, model, folds, fold, all_folds, epochs, samples_per_epoch, batch_size, lr,
                      ema_decay, seed, mouse, num_threads, device, keep_all_checkpoints, default_readout_bias, quiet):
        """Train DwiseNeuro on the labelled trials (train + oracle tiers) of one mouse with the reference recipe.

        Writes the best epoch's argus checkpoint model-EPOCH-VALCORR.pth (EMA weights), encoder.json and
        training_state.pt into OUT; OUT then works as `--encoder OUT` for every other command.
        """
        from pathlib import Path

        from ..training import TrainingConfig, train

        if lr is None:
            lr = 3e-4 * batch_size / 4
        options = dict(model=model, folds=folds, epochs=epochs, samples_per_epoch=samples_per_epoch,
                       batch_size=batch_size, lr=lr, ema_decay=ema_decay, seed=seed, num_threads=num_threads,
                       device=device, keep_all_checkpoints=keep_all_checkpoints,
                       init_readout_bias=not default_readout_bias)
        runs = ([(k, Path(out_dir) / f"fold-{k}") for k in range(folds)] if all_folds else [(fold, Path(out_dir))])
        configs = [TrainingConfig(fold=k, **options) for k, _ in runs]  # every option checked before training
        scores = []
        for config, (k, folder) in zip(configs, runs):
            if all_folds:
                click.echo(f"fold {k} of {folds}: {folder}")
            summary = train(data_dir, folder, config, mouse=mouse, progress=not quiet, log=click.echo)
            scores.append(summary["best_val_corr"])
            click.echo(f"held-out correlation (fold {k} of {folds}, epoch {summary['best_epoch']}): "
                       f"{summary['best_val_corr']:.4f}  (untrained {summary['initial_val_corr']:.4f})")
            click.echo(f"checkpoint: {summary['best_checkpoint']}")
        if all_folds:
            click.echo(f"mean held-out correlation over {folds} folds: {sum(scores) / len(scores):.4f}")
