"""One self-contained HTML page from dnemkit results files (``characterize report``).

Every results file (netCDF written by a ``characterize`` command; its ``dnemkit_kind`` attribute tells the kind)
becomes one section: a table of headline numbers, figures rendered from the dataset and embedded as base64 PNG,
and the run's config and provenance (the dataset attributes). Figures and headline numbers come from the per-kind
registry (:mod:`dnemkit.viz.kinds`), the same that the commands print and save from. Any other kind gets a
generic figure of its main variables and a table of its scalar variables.
"""

import base64
import html
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import DnemkitError
from ..io.atomic import atomic_path
from ..io.results import read_dataset
from .headlines import fmt as _fmt
from .headlines import scalar_rows
from .kinds import figures_of, headline_of, kind_of
from .save import png_bytes

__all__ = ["build_report", "write_report", "load_results", "render_section", "headline_numbers", "generic_figures"]

MAX_GENERIC_FIGURES = 6


# ----------------------------------------------------------------------------------------------------------------
# loading
# ----------------------------------------------------------------------------------------------------------------
def load_results(paths):
    """[(path, Dataset)] for every results file; a folder stands for the .nc files in it (sorted).

    Raises DnemkitError (one line naming the file) for a missing file, a file that is not netCDF, or a netCDF
    file without the ``dnemkit_kind`` attribute (not a dnemkit result).
    """
    paths = [Path(p) for p in (paths if isinstance(paths, (list, tuple)) else [paths])]
    if not paths:
        raise DnemkitError("no results files given; expected one or more .nc files written by characterize")
    files = []
    for p in paths:
        if p.is_dir():
            # temporaries of an interrupted write (.<name>.<random>.tmp.nc) are never results
            found = sorted(f for f in p.glob("*.nc") if not (f.name.startswith(".") and ".tmp" in f.name))
            if not found:
                raise DnemkitError(f"folder {p} holds no .nc results files; expected files written by characterize")
            files += found
        else:
            files.append(p)
    out = []
    for f in files:
        ds = read_dataset(f)
        kind = ds.attrs.get("dnemkit_kind")
        if not kind:
            raise DnemkitError(f"{f} is not a dnemkit result (no dnemkit_kind attribute); expected a .nc file "
                               "written by a characterize command")
        out.append((f, ds))
    return out


# ----------------------------------------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------------------------------------


def _reduce_to_plot(var):
    """A DataArray reduced to 1-D or 2-D: (y, x) kept when present; other dims averaged."""
    dims = list(var.dims)
    keep = [d for d in ("y", "x") if d in dims] if {"y", "x"} <= set(dims) else dims[-2:] if len(dims) >= 2 else dims
    other = [d for d in dims if d not in keep]
    reduced = var.mean(other, skipna=True) if other else var
    return reduced.transpose(*keep), other


def generic_figures(ds, limit=MAX_GENERIC_FIGURES):
    """{name: Figure}: one figure with up to ``limit`` panels of the dataset's main (non-scalar, numeric)
    variables; images for 2-D data ((y, x) kept, other dims averaged), lines for 1-D."""
    from matplotlib.figure import Figure

    names = [n for n, v in ds.data_vars.items() if v.ndim >= 1 and v.dtype.kind in "fiu" and v.size > 1][:limit]
    if not names:
        return {}
    cols = min(3, len(names))
    rows = int(np.ceil(len(names) / cols))
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, name in zip(axes, names):
        var, averaged = _reduce_to_plot(ds[name].astype(float))
        suffix = f" (mean over {', '.join(averaged)})" if averaged else ""
        if var.ndim == 2:
            im = ax.imshow(var.values, aspect="auto" if not {"y", "x"} <= set(var.dims) else "equal",
                           cmap="viridis")
            ax.set_xlabel(var.dims[1], fontsize=8)
            ax.set_ylabel(var.dims[0], fontsize=8)
            for axis, dim in ((ax.xaxis, var.dims[1]), (ax.yaxis, var.dims[0])):
                if dim in ds.coords and ds.sizes[dim] <= 20 and dim not in ("y", "x"):  # label by coordinate
                    axis.set_ticks(np.arange(ds.sizes[dim]))
                    axis.set_ticklabels([_fmt(c) for c in ds[dim].values], fontsize=7)
            fig.colorbar(im, ax=ax, shrink=0.8)
        else:
            dim = var.dims[0]
            coord = ds[dim].values if dim in ds.coords else np.arange(var.size)
            x = coord if np.asarray(coord).dtype.kind in "fiu" else np.arange(var.size)
            ax.plot(x, var.values, "o-" if var.size <= 30 else "-", ms=3)
            if np.asarray(coord).dtype.kind not in "fiu":
                ax.set_xticks(x)
                ax.set_xticklabels([str(c) for c in coord], rotation=45, fontsize=7)
            ax.set_xlabel(dim, fontsize=8)
        units = ds[name].attrs.get("units", "")
        ax.set_title(f"{name}{suffix}" + (f"\n[{units}]" if units else ""), fontsize=8)
    for ax in axes[len(names):]:
        ax.axis("off")
    return {"variables": fig}


def headline_numbers(ds):
    """[(label, value text)] of the numbers that summarise a result (:func:`dnemkit.viz.kinds.headline_of`)."""
    return headline_of(ds)


# ----------------------------------------------------------------------------------------------------------------
# HTML
# ----------------------------------------------------------------------------------------------------------------
def _table(rows, header=None):
    if not rows:
        return "<p class='none'>none</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header) if header else ""
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{'<tr>' + head + '</tr>' if head else ''}{body}</table>"


def _config_block(ds):
    text = ds.attrs.get("config")
    if not text:
        return "<p class='none'>no config stored</p>"
    try:
        text = json.dumps(json.loads(text), indent=2, sort_keys=True)
    except (TypeError, ValueError):
        text = str(text)
    return f"<pre>{html.escape(text)}</pre>"


def _figure_html(name, fig):
    data = base64.b64encode(png_bytes(fig)).decode("ascii")
    return (f"<figure><img src=\"data:image/png;base64,{data}\" alt=\"{html.escape(name)}\">"
            f"<figcaption>{html.escape(name)}</figcaption></figure>")


def render_section(path, ds, index=0):
    """The HTML of one results file: headline numbers, figures, scalar table (unknown kinds), config, provenance."""
    kind = str(ds.attrs.get("dnemkit_kind", "unknown"))
    parts = [f"<section id='result-{index}'><h2>{html.escape(kind)}: {html.escape(str(path))}</h2>"]
    parts.append("<h3>Headline numbers</h3>" + _table(headline_numbers(ds), ("quantity", "value")))
    note = ""
    try:
        figures = figures_of(ds)
    except Exception as exc:  # noqa: BLE001 -- a figure must not sink the whole report; say so instead
        figures, note = None, f"the {kind} figures could not be drawn ({type(exc).__name__}: {exc}); generic view"
    if figures is None:
        figures = generic_figures(ds)
        if not note:
            note = f"'{kind}' results: generic view of the main variables"
    parts.append("<h3>Figures</h3>")
    if note:
        parts.append(f"<p class='note'>{html.escape(note)}</p>")
    parts += [_figure_html(name, fig) for name, fig in figures.items()] or ["<p class='none'>no figures</p>"]
    if kind_of(ds) is None or kind in ("natural", "mask", "gratings", "noise"):
        parts.append("<h3>Scalar variables</h3>" + _table(scalar_rows(ds), ("variable", "value")))
    parts.append("<h3>Config</h3>" + _config_block(ds))
    prov = [(k, v if isinstance(v, str) else _fmt(v) if np.ndim(v) == 0 else str(np.asarray(v).tolist()))
            for k, v in ds.attrs.items() if k != "config"]
    parts.append("<h3>Provenance</h3>" + _table(prov, ("attribute", "value")))
    parts.append("</section>")
    return "\n".join(parts)


STYLE = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1200px;
       color: #222; padding: 0 1em; }
h1 { border-bottom: 2px solid #444; } h2 { margin-top: 2.5em; border-bottom: 1px solid #bbb; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; word-break: break-word; }
th { background: #f0f0f0; }
figure { margin: 1em 0; } img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.8em; color: #666; }
pre { background: #f7f7f7; padding: 0.6em; font-size: 0.8em; overflow-x: auto; }
.note, .none { color: #777; font-style: italic; }
"""


def build_report(paths, out="report.html", title="dnemkit report"):
    """Write one self-contained HTML page for the results files ``paths`` (files or folders of .nc) to ``out``
    atomically; returns the path. Raises DnemkitError for a file that is not a dnemkit result."""
    return write_report(load_results(paths), out, title)


def write_report(results, out="report.html", title="dnemkit report"):
    """Write the HTML page for already loaded ``results`` ([(path, Dataset)], see :func:`load_results`)."""
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    toc = "".join(f"<li><a href='#result-{i}'>{html.escape(str(ds.attrs.get('dnemkit_kind')))}: "
                  f"{html.escape(str(p))}</a></li>" for i, (p, ds) in enumerate(results))
    sections = [render_section(p, ds, i) for i, (p, ds) in enumerate(results)]
    page = (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<p>{len(results)} result(s); generated {created}.</p><ul>{toc}</ul>"
            + "\n".join(sections) + "</body></html>\n")
    out = Path(out)
    with atomic_path(out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return out
