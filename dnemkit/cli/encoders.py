"""characterize encoders info SPEC"""

import json

import click

from .common import DnemkitGroup


def register(main):
    @main.group(cls=DnemkitGroup)
    def encoders():
        """Inspect encoders (demo, synthetic, checkpoints, folders, user factories)."""

    @encoders.command("info")
    @click.argument("spec", default="demo")
    @click.option("--mouse", type=click.IntRange(min=0), default=None, help="Readout index of a checkpoint.")
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
    def info(spec, mouse, as_json):
        """Describe the encoder SPEC: neurons, parameters, input geometry, mice."""
        from ..encoders import load_encoder

        described = load_encoder(spec, mouse).info()
        described["spec"] = spec
        if as_json:
            click.echo(json.dumps(described, indent=2, default=str))
            return
        for key, value in described.items():
            if isinstance(value, dict):
                click.echo(f"{key}:")
                for k, v in value.items():
                    click.echo(f"  {k}: {v}")
            else:
                click.echo(f"{key}: {value}")
