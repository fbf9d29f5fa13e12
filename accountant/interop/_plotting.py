"""What the plots share (:func:`accountant.interop.comparison.plot`,
:func:`accountant.interop.risk_plot.plot`): the formats matplotlib writes, pyplot on the
Agg backend, and the atomic write of a finished figure. matplotlib is optional and is
imported only here, inside the functions."""
from __future__ import annotations

import io
from typing import Tuple

__all__ = ["plot_formats", "pyplot", "save"]

_MISSING = "--plot needs matplotlib: pip install matplotlib"


def plot_formats() -> Tuple[str, ...]:
    """File extensions matplotlib can write (".png", ".pdf", ".svg", …)."""
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise ValueError(_MISSING) from None
    return tuple(sorted("." + e for e in FigureCanvasBase.get_supported_filetypes()))


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (ValueError without it)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValueError(_MISSING) from None
    return plt


def save(fig, path: str, ext: str) -> str:
    """Render ``fig`` in the format of ``ext`` (".png", …), close it and write ``path``
    atomically (a reader never sees a partial file). Returns ``path``."""
    from ..core._files import write_atomically
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=ext[1:])
    finally:
        pyplot().close(fig)
    write_atomically(path, buf.getvalue(), "plot path")
    return path
