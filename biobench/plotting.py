"""Figure primitives every part of biobench draws with: matplotlib on Agg (files only), a figure with its title and
caption, PNG bytes, one colour and marker per method. Below the report and the plugins, so both can draw."""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # files only; no display is ever needed

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

Palette = dict[str, tuple[float, float, float]]


def png_bytes(fig: plt.Figure) -> bytes:
    """The figure as a PNG (the report's resolution), and closed: figures are drawn once."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def method_palette(methods) -> Palette:
    """One colour per method (colour-blind safe up to ten), in sorted order, shared by every figure of a report."""
    names = sorted(set(methods))
    colours = sns.color_palette("colorblind" if len(names) <= 10 else "husl", len(names))
    return dict(zip(names, colours))


_MARKERS = "osD^vP*Xph<>"


def marker_of(palette: Palette, method: str) -> str:
    """A marker per method too, so lines and points that coincide stay distinguishable."""
    return _MARKERS[list(palette).index(method) % len(_MARKERS)]


@dataclass
class Figure:
    title: str
    figure: plt.Figure
    caption: str
