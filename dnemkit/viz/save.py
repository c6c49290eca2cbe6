"""Figures saved one way: PNG files written atomically, or PNG bytes for the HTML report; the figure is closed."""

import io

from ..io.atomic import atomic_path

__all__ = ["save_figure", "png_bytes"]

DPI = 110  #: dots per inch of every PNG dnemkit writes


def _close(fig):
    import matplotlib.pyplot as plt

    plt.close(fig)  # a no-op for figures made without pyplot


def save_figure(fig, path, dpi=DPI):
    """Write ``fig`` as a PNG at ``path`` atomically (temporary name in the same folder, then rename) and close it.

    Returns the path.
    """
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format="png")
    finally:
        _close(fig)
    return path


def png_bytes(fig, dpi=100):
    """The PNG encoding of ``fig`` (bytes); the figure is closed."""
    buf = io.BytesIO()
    try:
        fig.savefig(buf, dpi=dpi, format="png")
    finally:
        _close(fig)
    return buf.getvalue()
