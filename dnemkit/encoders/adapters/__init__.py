"""Declared adapters: a foreign encoder behind dnemkit's protocol from an ``encoder.json``, with no glue code.

- :mod:`.declaration`: the ``encoder.json`` format (its module docstring) read and checked;
- :mod:`.build`: the model imported (factory or saved module), its weights loaded, :func:`load_declared`;
- :mod:`.encoder`: :class:`ForeignEncoder`, the model behind the encoder protocol.
"""

from .build import import_object, load_declared
from .declaration import ADAPTER_KEYS, SIDECAR_KEYS, Declaration, declares_model, parse_declaration
from .encoder import ForeignEncoder

__all__ = ["ADAPTER_KEYS", "Declaration", "ForeignEncoder", "SIDECAR_KEYS", "declares_model", "import_object",
           "load_declared", "parse_declaration"]
