"""One self-contained HTML page from dnemkit results files (``characterize report``).

Every results file (netCDF written by a ``characterize`` command; its ``dnemkit_kind`` attribute tells the kind)
becomes one section: a table of headline numbers, figures rendered from the dataset and embedded as base64 PNG,
and the run's config and provenance (the dataset attributes). Kinds with their own figures: rf, ablation,
errormap, tuning (this package's viz modules), and natural, mask, gratings, noise when their viz modules are
installed.
Any other kind gets a generic figure of its main variables and a table of its scalar variables.
"""

import base64
import html
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import DnemkitError
from .results import read_dataset

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
def _figure_to_png(fig):
    from .viz.rf import png_bytes

    try:
        return png_bytes(fig)
    finally:
        try:
            import matplotlib.pyplot as plt

            plt.close(fig)  # a no-op for figures made without pyplot
        except Exception:  # noqa: BLE001 -- closing is best effort
            pass


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


def _specialised_figures(kind, ds):
    """{name: Figure} from the viz module of a known kind; None when there is none."""
    if kind == "rf":
        from .viz.rf import rf_figures

        return rf_figures(ds)
    if kind == "ablation":
        from .viz.ablation import ablation_figures

        return ablation_figures(ds)
    if kind == "errormap":
        from .viz.errors import errormap_figures

        return errormap_figures(ds)
    if kind == "natural":
        from .viz.natural import natural_summary

        return {"natural": natural_summary(ds)}
    if kind == "mask":
        from .viz.masks import mask_figure

        return {"mask": mask_figure(ds)}
    if kind == "tuning":
        from .viz.tuning import tuning_figures

        return tuning_figures(ds)
    if kind in ("gratings", "noise"):
        from .viz.heatmaps import plot_resolution_heatmap

        return {kind: plot_resolution_heatmap(ds)}
    return None


# ----------------------------------------------------------------------------------------------------------------
# headline numbers
# ----------------------------------------------------------------------------------------------------------------
def _fmt(value):
    if isinstance(value, (float, np.floating)):
        return "nan" if not np.isfinite(value) else f"{value:.4g}"
    if isinstance(value, (np.integer, int)):
        return str(int(value))
    return str(value)


def _scalars(ds):
    rows = []
    for name, var in ds.data_vars.items():
        if var.ndim == 0 and var.dtype.kind in "fiub":
            label = var.attrs.get("long_name", "")
            rows.append((name + (f" ({label})" if label else ""), _fmt(var.values.item())))
    return rows


def headline_numbers(ds):
    """[(label, value string)] of the numbers that summarise a result; every scalar variable for unknown kinds."""
    kind = ds.attrs.get("dnemkit_kind")
    rows = []
    if kind == "rf":
        rows += [("neurons", _fmt(ds.sizes.get("neuron", 0))),
                 ("responsive neurons", _fmt(int(np.asarray(ds["responsive"].values).astype(bool).sum()))),
                 ("Gaussian fits", _fmt(int(np.asarray(ds["fitted"].values).astype(bool).sum()))
                  if "fitted" in ds else "-"),
                 ("models", _fmt(ds.sizes.get("model", 1))),
                 ("lead-in grey frames", _fmt(ds.attrs.get("lead_in_frames", "")))]
        if "fit_sigma_x" in ds and np.isfinite(ds["fit_sigma_x"].values).any():
            s = np.sqrt(ds["fit_sigma_x"].values * ds["fit_sigma_y"].values)
            rows.append(("median fitted sigma (px, geometric mean of x and y)", _fmt(float(np.nanmedian(s)))))
        ok = np.asarray(ds["responsive"].values).astype(bool)
        if ok.any():
            rows.append(("population RF peak (y, x)", str(tuple(int(i) for i in np.unravel_index(
                np.nanargmax(np.nan_to_num(ds["on_plus_off"].values, nan=-np.inf)), ds["on_plus_off"].shape)))))
        if "center_error" in ds:
            err = ds["center_error"].values[ok]
            rows += [("median centre error vs truth (px)", _fmt(float(np.median(err)) if err.size else np.nan)),
                     ("centres within 1 px of truth", f"{100 * np.mean(err <= 1):.1f} %" if err.size else "-")]
        if "true_cell_type" in ds:
            types = np.asarray(ds["true_cell_type"].values).astype(str)
            pref = np.asarray(ds["preferred_polarity"].values).astype(str)
            for t in ("on", "off"):
                sel = ok & (types == t)
                if sel.any():
                    rows.append((f"true {t.upper()} cells with preferred polarity {t.upper()}",
                                 f"{100 * np.mean(pref[sel] == t):.1f} % of {int(sel.sum())}"))
        if "mapping_seconds" in ds.attrs:
            rows.append(("mapping time (s)", _fmt(float(ds.attrs["mapping_seconds"]))))
    elif kind == "ablation":
        per_movie = ds["video_correlation"].mean("seed")
        k = per_movie.sizes["movie"]
        for f in ds["keep_fraction"].values:
            v = per_movie.sel(keep_fraction=f).values
            sem = v.std(ddof=1) / np.sqrt(k) if k > 1 else np.nan
            n = int(ds["n_kept"].sel(keep_fraction=f)) if "n_kept" in ds else None
            rows.append((f"video r, {100 * float(f):g} % of neurons" + (f" ({n})" if n is not None else ""),
                         f"{v.mean():.4f} ± {sem:.4f} (mean ± s.e.m., {k} movies)"))
        if "anova_F" in ds:
            rows.append(("repeated-measures ANOVA", f"F({_fmt(float(ds['anova_df_num']))}, "
                         f"{_fmt(float(ds['anova_df_den']))}) = {_fmt(float(ds['anova_F']))}, "
                         f"p = {_fmt(float(ds['anova_p']))} ({ds.attrs.get('statistics', '')}, subjects: "
                         f"{ds.attrs.get('subjects', '')})"))
            for c in range(ds.sizes.get("comparison", 0)):
                rows.append((f"{100 * float(ds['level_a'][c]):g} % vs {100 * float(ds['level_b'][c]):g} %",
                             f"t = {_fmt(float(ds['test_t'][c]))}, p = {_fmt(float(ds['test_p'][c]))}, "
                             f"Bonferroni p = {_fmt(float(ds['test_p_bonferroni'][c]))}"))
    elif kind == "errormap":
        for name, label in (("video_correlation_recorded", "video r, from recorded activity"),
                            ("video_correlation_predicted", "video r, from predicted activity"),
                            ("recorded_vs_predicted_correlation", "r between the two reconstructions"),
                            ("e_plus_mean", "mean E+ (grey levels)"), ("e_minus_mean", "mean E- (grey levels)")):
            if name in ds:
                rows.append((label, _fmt(float(ds[name]))))
    elif kind == "tuning":
        rows += _tuning_rows(ds)
    else:
        rows += _scalars(ds)
    return rows


def _tuning_rows(ds):
    from .analysis.tuning import population_summary

    s = population_summary(ds)
    rows = [("neurons", _fmt(s["n_neurons"])),
            ("responsive neurons", f"{s['n_responsive']} ({ds.attrs.get('responsive_criterion', '')})"),
            ("models", _fmt(ds.sizes.get("model", 1)))]
    for name, label in (("osi", "OSI (peak)"), ("dsi", "DSI (peak)"), ("gosi", "gOSI (global)"),
                        ("gdsi", "gDSI (global)"), ("f1_f0", "F1/F0")):
        rows.append((f"median {label}, responsive neurons", _fmt(s[f"median_{name}"])))
    for dim, unit in (("sf", "cpd"), ("tf", "Hz")):
        counts = ", ".join(f"{v:g}: {n}" for v, n in s[f"preferred_{dim}_counts"].items())
        rows.append((f"preferred {dim.upper()} ({unit}): neurons per grid value", counts))
        rows.append((f"median log-Gaussian preferred {dim.upper()} ({unit})",
                     f"{_fmt(s[f'median_preferred_{dim}_fit'])} ({s[f'n_{dim}_fit']} fits)"))
    rows.append(("simple (F1/F0 > 1) / complex cells", f"{s['n_simple']} / {s['n_complex']}"))
    if "tuning_seconds" in ds.attrs:
        rows.append(("tuning time (s)", _fmt(float(ds.attrs["tuning_seconds"]))))
    return rows


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
    data = base64.b64encode(_figure_to_png(fig)).decode("ascii")
    return (f"<figure><img src=\"data:image/png;base64,{data}\" alt=\"{html.escape(name)}\">"
            f"<figcaption>{html.escape(name)}</figcaption></figure>")


def render_section(path, ds, index=0):
    """The HTML of one results file: headline numbers, figures, scalar table (unknown kinds), config, provenance."""
    kind = str(ds.attrs.get("dnemkit_kind", "unknown"))
    parts = [f"<section id='result-{index}'><h2>{html.escape(kind)}: {html.escape(str(path))}</h2>"]
    parts.append("<h3>Headline numbers</h3>" + _table(headline_numbers(ds), ("quantity", "value")))
    note = ""
    try:
        figures = _specialised_figures(kind, ds)
    except ImportError:
        figures = None
    except Exception as exc:  # noqa: BLE001 -- a figure must not sink the whole report; say so instead
        figures, note = None, f"the {kind} figures could not be drawn ({type(exc).__name__}: {exc}); generic view"
    if figures is None:
        figures = generic_figures(ds)
        if kind not in ("rf", "ablation", "errormap", "tuning") and not note:
            note = f"'{kind}' results: generic view of the main variables"
    parts.append("<h3>Figures</h3>")
    if note:
        parts.append(f"<p class='note'>{html.escape(note)}</p>")
    parts += [_figure_html(name, fig) for name, fig in figures.items()] or ["<p class='none'>no figures</p>"]
    if kind not in ("rf", "ablation", "errormap", "tuning"):
        parts.append("<h3>Scalar variables</h3>" + _table(_scalars(ds), ("variable", "value")))
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
