"""characterize report"""

import click

from .common import user_errors


def register(main):
    @main.command()
    @click.argument("results", nargs=-1, required=True, type=click.Path())
    @click.option("--out", type=click.Path(dir_okay=False), default="report.html", show_default=True,
                  help="The HTML file to write.")
    @click.option("--title", default="dnemkit report", show_default=True)
    @user_errors
    def report(results, out, title):
        """One self-contained HTML page from results files (.nc) or folders of them.

        Figures are rendered from the datasets and embedded as PNG; each run's headline numbers, config and
        provenance are tabulated.
        """
        from ..viz.report import load_results, write_report

        loaded = load_results(list(results))
        path = write_report(loaded, out, title)
        kinds = ", ".join(str(ds.attrs.get("dnemkit_kind")) for _, ds in loaded)
        click.echo(f"report of {len(loaded)} result(s) ({kinds}): {path}")
