"""The per-kind registry of results: for each ``dnemkit_kind`` of results dataset, its figures and its headline
numbers. Commands write their figures and print their summary from here, and the HTML report renders the same
figures and tables, so a command's output and the report never disagree.

A kind not registered here gets the report's generic view (:func:`dnemkit.viz.report.generic_figures`) and its
scalar variables as headline numbers.
"""

import importlib
from dataclasses import dataclass
from pathlib import Path

from . import headlines

__all__ = ["ResultKind", "KINDS", "kind_of", "figures_of", "headline_of", "write_figures"]


def _lazy(module, name):
    """A function that imports ``module`` (relative to dnemkit.viz) on first call: matplotlib loads only when a
    figure is drawn."""
    def call(ds):
        return getattr(importlib.import_module(module, __package__), name)(ds)

    call.__name__ = name
    return call


def _one(module, name, key):
    """Like :func:`_lazy` for a function that draws one figure: its result as {key: figure}."""
    function = _lazy(module, name)

    def call(ds):
        return {key: function(ds)}

    return call


@dataclass(frozen=True)
class ResultKind:
    """figures: ds -> {name: matplotlib Figure} (a command writes each as ``<name>.png``); headline: ds ->
    [(label, value text)] (printed as 'label: value' and tabulated by the report)."""

    figures: object
    headline: object


KINDS = {
    "natural": ResultKind(_one(".natural", "natural_summary", "natural"), headlines.natural_rows),
    "mask": ResultKind(_one(".masks", "mask_figure", "mask"), headlines.mask_rows),
    "gratings": ResultKind(_one(".heatmaps", "plot_resolution_heatmap", "gratings"), headlines.sweep_rows),
    "noise": ResultKind(_one(".heatmaps", "plot_resolution_heatmap", "noise"), headlines.sweep_rows),
    "rf": ResultKind(_lazy(".rf", "rf_figures"), headlines.rf_rows),
    "ablation": ResultKind(_lazy(".ablation", "ablation_figures"), headlines.ablation_rows),
    "errormap": ResultKind(_lazy(".errors", "errormap_figures"), headlines.errormap_rows),
    "tuning": ResultKind(_lazy(".tuning", "tuning_figures"), headlines.tuning_rows),
    "mei": ResultKind(_one(".mei", "mei_figure", "mei"), headlines.mei_rows),
    "study": ResultKind(_lazy(".study", "study_figures"), headlines.study_rows),
}


def kind_of(ds):
    """The registered ResultKind of ``ds`` (by its ``dnemkit_kind`` attribute), or None."""
    return KINDS.get(str(ds.attrs.get("dnemkit_kind", "")))


def figures_of(ds):
    """{name: Figure} of a registered kind; None for a kind not registered."""
    kind = kind_of(ds)
    return None if kind is None else kind.figures(ds)


def headline_of(ds):
    """[(label, value text)]: the kind's headline numbers, or every scalar variable for a kind not registered."""
    kind = kind_of(ds)
    return headlines.scalar_rows(ds) if kind is None else kind.headline(ds)


def write_figures(ds, folder):
    """Write every figure of ``ds``'s kind as ``folder/<name>.png`` (atomically); returns the paths."""
    from .save import save_figure

    return [save_figure(fig, Path(folder) / f"{name}.png") for name, fig in (figures_of(ds) or {}).items()]
