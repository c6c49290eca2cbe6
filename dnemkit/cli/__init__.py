"""`characterize`: the command line of dnemkit. Each command group lives in its own module."""

import importlib

import click

from .common import DnemkitGroup

# modules that add commands to `main`; a module missing here is simply not offered
COMMAND_MODULES = ("encoders", "simulate", "natural", "evaluate", "mask", "train", "sweeps", "rf", "ablation",
                   "errormap", "report", "tuning", "study", "mei", "fetch", "decoder")


@click.group(cls=DnemkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dnemkit")
def main():
    """Reconstruct movies from mouse V1 activity and characterise encoders in silico.

    Start with `characterize natural` (the embedded demo: the synthetic mouse's responses to a held-out
    natural movie, reconstructed with the shipped demo encoder).
    """


for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"{__name__}.{_name}":
            raise
        continue
    _module.register(main)
