"""The named recipes of a reconstruction (plain values: importing this module loads no torch).

A recipe is a set of :class:`~dnemkit.reconstruction.config.Recipe` values; the loop looks its parts up by name
(``OPTIMIZERS`` in :mod:`.optimizers`, ``SCHEDULES`` in :mod:`.schedule`, ``OBJECTIVES`` in
:mod:`.objectives`), so a new recipe is new parts plus a new entry, not a branch in the loop.

- ``RECIPES``: ``"paper"`` (exact; the Recipe defaults) and ``"fast"`` (Adam, tiled, cosine, few iterations).

The fast recipe changes the arithmetic, so it is a named alternative: ``docs/method.md`` ("Recipe", "The fast
recipe") gives the measurements that chose it, and ``benchmarks/recipes.py`` compares both on the same targets.
"""

from ..errors import DnemkitError

#: the fast recipe's defaults; see docs/method.md ("Recipe", "The fast recipe") for the measurements behind them
FAST = dict(optimizer="adam", schedule="tiled", lr=4.0, warmup=0, beta2=0.99, final_lr_ratio=0.05, iterations=40)

#: recipe name -> the Recipe fields it sets (everything else keeps the paper's value)
RECIPES = {"paper": {}, "fast": FAST}


def recipe_defaults(name):
    """The Recipe fields of recipe ``name`` (a copy)."""
    if name not in RECIPES:
        raise DnemkitError(f"recipe is {name!r}; expected one of {', '.join(RECIPES)}")
    return dict(RECIPES[name], name=name)
