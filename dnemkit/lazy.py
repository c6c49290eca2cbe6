"""Lazy re-exports for package ``__init__`` modules (PEP 562): names are imported on first use, so that
`characterize --help` and `import dnemkit` do not load torch, xarray and scipy."""

import importlib


def lazy_exports(package, exports):
    """(``__getattr__``, ``__dir__``) for a package whose public name ``n`` lives in submodule ``exports[n]``
    (a relative module name such as ".experiment")."""

    def __getattr__(name):
        if name in exports:
            module = importlib.import_module(exports[name], package)
            value = module if exports[name] == f".{name}" else getattr(module, name)  # a submodule itself
            setattr(importlib.import_module(package), name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(vars(importlib.import_module(package))) | set(exports))

    return __getattr__, __dir__
