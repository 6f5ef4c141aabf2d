"""Charts for people: one house style for the report notebooks, and the axis helpers.

A notebook calls :func:`use_report_style` once, draws with matplotlib, formats its axes
with the helpers below and hands each figure to :func:`show`::

    from sim.reports.charts import count_axis, show, use_report_style, zero_based

    use_report_style()
    fig, ax = plt.subplots()
    ax.bar(["李明", "王芳"], [1_200_000, 950_000])
    ax.set_title("各销售首次触达线索数")
    count_axis(ax, "y", label="线索数")
    zero_based(ax)
    show(fig)

The style sets every text in the CJK font the workbench ships (:mod:`sim.io.fonts`, no
system font needed), uses the Okabe-Ito palette (readable with every common colour-vision
deficiency), a white background, sizes readable at report width, and no scientific
notation or offset on any axis.  :func:`show` embeds the figure as SVG (text drawn as
shapes, so it needs no font in the browser) or as a PNG at twice the screen resolution,
then closes it, so the notebook shows the picture only, never a ``<Figure ...>`` line.

Honest axes: a bar's length is its value, so a bar or effect chart starts at zero
(:func:`zero_based`); a zoomed axis turns a 1% effect into a cliff.  Line charts of a level
over time may zoom, but say so in the axis label or title.
"""

from __future__ import annotations

import base64
import io
import itertools
import math
from collections.abc import Callable
from typing import Any, Literal

__all__ = [
    "OKABE_ITO",
    "count_axis",
    "figure_bytes",
    "hours_axis",
    "money_axis",
    "percent_axis",
    "show",
    "text_colour_on",
    "tilt_labels",
    "use_report_style",
    "zero_based",
]

Which = Literal["x", "y"]

OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow: fills only, never thin lines or text on white
    "#000000",  # black
)
"""Okabe & Ito (2008), ordered so the first colours are distinct for every viewer."""

_FIGURE_FORMAT = {"value": "svg"}


def _locale(lang: str) -> str:
    from sim.reports.i18n import LOCALES, check_lang

    return LOCALES[check_lang(lang)]


def use_report_style(figure_format: Literal["svg", "png"] = "svg") -> None:
    """Set the house style for every figure drawn after this call (idempotent).

    *figure_format* is how :func:`show` (and IPython's own figure display) embeds figures:
    ``"svg"`` (vector, text as shapes) or ``"png"`` (raster at 2x, for very dense plots).
    """
    import matplotlib as mpl
    from cycler import cycler

    from sim.io.fonts import register_matplotlib

    if figure_format not in ("svg", "png"):
        raise ValueError(f"figure_format must be 'svg' or 'png', got {figure_format!r}")
    register_matplotlib()
    mpl.rcParams.update(
        {
            "axes.prop_cycle": cycler(color=OKABE_ITO),
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "savefig.facecolor": "white",
            "figure.figsize": (8.0, 4.5),
            "figure.dpi": 100,
            "savefig.dpi": 200,
            "figure.constrained_layout.use": True,  # titles, labels, legends never clip
            "font.size": 11,
            "axes.titlesize": 14,
            "axes.titleweight": "normal",  # the face has no bold; size sets titles apart
            "axes.titlelocation": "left",
            "axes.labelsize": 11,
            "xtick.labelsize": 10,
            "ytick.labelsize": 10,
            "legend.fontsize": 10,
            "legend.frameon": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "axes.grid.axis": "y",
            "grid.color": "#DDDDDD",
            "grid.linewidth": 0.8,
            "axes.axisbelow": True,
            "axes.formatter.useoffset": False,
            "axes.formatter.limits": (-6, 15),  # no 1e6 on counts or money
            "svg.fonttype": "path",
            "svg.hashsalt": "salesops-workbench",  # same figure, same SVG
        }
    )
    _FIGURE_FORMAT["value"] = figure_format
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # outside Jupyter
        return
    set_matplotlib_formats("svg" if figure_format == "svg" else "retina")


def figure_bytes(fig: Any, figure_format: Literal["svg", "png"] = "svg") -> bytes:
    """*fig* as SVG text or as a PNG at twice its screen resolution, with no date or tool
    stamp (so the same figure gives the same bytes)."""
    buffer = io.BytesIO()
    png = figure_format == "png"
    metadata: dict[str, Any] = {"Software": None} if png else {"Date": None}
    fig.savefig(
        buffer,
        format=figure_format,
        metadata=metadata,
        bbox_inches="tight",
        dpi=2 * fig.dpi if png else "figure",
    )
    return buffer.getvalue()


def show(fig: Any, figure_format: Literal["svg", "png"] | None = None) -> None:
    """Display *fig* in the notebook as SVG or 2x PNG, then close it (no text repr).

    *figure_format* defaults to the one given to :func:`use_report_style`.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    fmt = figure_format or _FIGURE_FORMAT["value"]
    data = figure_bytes(fig, fmt)
    plt.close(fig)
    if fmt == "svg":
        display({"image/svg+xml": data.decode("utf-8")}, raw=True)
    else:
        width = int.from_bytes(data[16:20], "big") // 2  # shown at half its pixels: 2x sharp
        display(
            {"image/png": base64.b64encode(data).decode("ascii")},
            raw=True,
            metadata={"image/png": {"width": width}},
        )


# -- axis formatters ---------------------------------------------------------------------
def _axis(ax: Any, which: Which) -> Any:
    if which not in ("x", "y"):
        raise ValueError(f"which must be 'x' or 'y', got {which!r}")
    return ax.xaxis if which == "x" else ax.yaxis


def _decimals(axis: Any, scale: float = 1.0) -> int:
    """Decimals that tell the ticks (times *scale*) apart: none for a step >= 1."""
    ticks = sorted(axis.get_majorticklocs())
    steps = [(b - a) * scale for a, b in itertools.pairwise(ticks) if b > a]
    step = min(steps) if steps else 1.0
    return 0 if step >= 1 else min(6, -math.floor(math.log10(step) + 1e-9))


def _format(
    ax: Any,
    which: Which,
    label: str | None,
    text: Callable[[float, int], str],
    scale: float = 1.0,
) -> None:
    from matplotlib.ticker import FuncFormatter

    axis = _axis(ax, which)
    axis.set_major_formatter(FuncFormatter(lambda value, _pos: text(value, _decimals(axis, scale))))
    if label is not None:
        axis.set_label_text(label)


def _number(value: float, decimals: int, lang: str) -> str:
    from babel.numbers import format_decimal

    value = 0.0 if value == 0 else value  # never "-0"
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=_locale(lang))


def count_axis(ax: Any, which: Which = "y", *, label: str | None = None, lang: str = "en") -> None:
    """Counts on *which* axis: whole-number ticks with thousands separators (1,000,000)."""
    from matplotlib.ticker import MaxNLocator

    _axis(ax, which).set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 2.5, 5, 10]))
    _format(ax, which, label, lambda v, _d: _number(v, 0, lang))


def percent_axis(
    ax: Any,
    which: Which = "y",
    *,
    label: str | None = None,
    xmax: float = 1.0,
    lang: str = "en",
) -> None:
    """Shares on *which* axis as percentages; *xmax* is the data value of 100% (1.0 for
    fractions, 100 for values already in percent)."""

    if xmax <= 0:
        raise ValueError(f"xmax must be positive, got {xmax!r}")
    scale = 100 / xmax
    _format(ax, which, label, lambda v, d: f"{_number(v * scale, d, lang)}%", scale)


def money_axis(
    ax: Any,
    currency: str = "CNY",
    lang: str = "zh",
    which: Which = "y",
    *,
    label: str | None = None,
    compact: bool | None = None,
) -> None:
    """Money on *which* axis with its currency sign (¥1,200,000; CN¥ in English).

    *compact* writes large amounts short (¥120万, CN¥1.2M); by default it does so when the
    axis reaches ten million.  Never scientific notation.
    """
    from babel.numbers import format_compact_currency, format_currency

    locale = _locale(lang)
    axis = _axis(ax, which)

    def text(value: float, decimals: int) -> str:
        value = 0.0 if value == 0 else value
        top = max(abs(v) for v in axis.get_view_interval())
        if compact if compact is not None else top >= 10_000_000:
            return format_compact_currency(value, currency, locale=locale, fraction_digits=1)
        pattern = "¤#,##0" + ("." + "0" * decimals if decimals else "")
        return format_currency(
            value, currency, format=pattern, locale=locale, currency_digits=False
        )

    _format(ax, which, label, text)


def hours_axis(ax: Any, which: Which = "y", *, label: str | None = None, lang: str = "en") -> None:
    """Durations in hours on *which* axis: "4 h" / "4 小时", decimals only when needed."""
    from sim.reports.i18n import unit_label

    unit = unit_label("h", lang)
    _format(ax, which, label, lambda v, d: f"{_number(v, d, lang)} {unit}")


# -- honest, readable axes ----------------------------------------------------------------
def zero_based(ax: Any, which: Which = "y") -> None:
    """Make *which* axis include zero, so bar lengths and effect sizes are true to scale.

    Call it after plotting.  An axis already spanning zero is left as it is.
    """
    _axis(ax, which)  # checks which
    low, high = ax.get_xlim() if which == "x" else ax.get_ylim()
    if low > 0:
        low = 0.0
    if high < 0:
        high = 0.0
    (ax.set_xlim if which == "x" else ax.set_ylim)(low, high)


def tilt_labels(ax: Any, which: Which = "x", angle: float = 30) -> None:
    """Tilt *which* axis' tick labels (right-aligned) so long category names never overlap."""
    for label in _axis(ax, which).get_ticklabels():
        label.set_rotation(angle)
        label.set_horizontalalignment("right" if which == "x" else "center")
        label.set_rotation_mode("anchor")


def text_colour_on(fill: str) -> str:
    """``"black"`` or ``"white"``, whichever reads better on *fill* (no white on yellow)."""
    from matplotlib.colors import to_rgb

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in to_rgb(fill))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "black" if luminance > 0.179 else "white"
