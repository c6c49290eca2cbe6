"""characterize fetch"""

import click

from .common import quiet_option, user_errors


def register(main):
    from ..fetch.catalogue import ENTRIES, SETS

    @main.command()
    @click.argument("names", nargs=-1, metavar="NAME...")
    @click.option("--out", type=click.Path(file_okay=False), default=None,
                  help="Folder that receives OUT/NAME/ for each entry (required unless --list).")
    @click.option("--mice", multiple=True, metavar="MOUSE",
                  help="sensorium2023: a mouse to fetch (name, prefix or its number, e.g. 29515); repeat for "
                       "several. Default: the paper's five mice.")
    @click.option("--old", is_flag=True, help="sensorium2023: the five older, training-only mice instead.")
    @click.option("--set", "recon_set", type=click.Choice(SETS), default="natural", show_default=True,
                  help="paper-reconstructions: which reconstructions.")
    @click.option("--mirror", default=None, metavar="URL",
                  help="Fetch from URL/<owner>/<repo>/raw/master/<path> instead of gin.g-node.org (also "
                       "DNEMKIT_FETCH_MIRROR).")
    @click.option("--list", "list_only", is_flag=True, help="Print what each entry is, its files and sizes; "
                                                            "fetch nothing.")
    @quiet_option
    @user_errors
    def fetch(names, out, mice, old, recon_set, mirror, list_only, quiet):
        """Download the paper's public files: NAME is one or more of sensorium2023, paper-models, paper-masks,
        paper-reconstructions.

        Interrupted downloads resume where they stopped (run the same command again); files are checked (size,
        and the server's checksum) and appear under their names only when whole; Sensorium zips are unpacked into
        mouse folders that --data reads. Then, e.g.: characterize study --data OUT/sensorium2023 --encoder
        OUT/paper-models --mask OUT/paper-masks.
        """
        from ..fetch import catalogue

        unknown = [n for n in names if n not in ENTRIES]
        if unknown:
            raise click.BadParameter(f"{', '.join(map(repr, unknown))} is not in the catalogue; expected one or "
                                     f"more of {', '.join(ENTRIES)}", param_hint="NAME")
        if list_only:
            try:
                for name in names or ENTRIES:
                    for line in catalogue.describe(name, mice, old, recon_set):
                        click.echo(line)
            except ValueError as exc:
                raise click.BadParameter(str(exc)) from None
            return
        if not names:
            raise click.UsageError("no NAME given; expected one or more of " + ", ".join(ENTRIES)
                                   + " (characterize fetch --list)")
        if out is None:
            raise click.BadParameter("is missing; expected a folder to fetch into", param_hint="--out")
        from ..fetch import fetch as run_fetch

        for name, (folder, _, _) in run_fetch(names, out, mirror=mirror, mice=mice, old=old, recon_set=recon_set,
                                              progress=not quiet, log=click.echo).items():
            hint = {"sensorium2023": "--data", "paper-models": "--encoder", "paper-masks": "--mask",
                    "paper-reconstructions": "reference reader:"}[name]
            click.echo(f"  {hint} {folder}")
