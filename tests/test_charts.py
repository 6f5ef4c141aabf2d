"""Charts for people: Chinese text renders in the shipped font (no 'Glyph missing'), counts
and money never show 1e6, and figures embed as SVG or a 2x PNG."""

from __future__ import annotations

import logging
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from sim.io.fonts import (
    CJK_FAMILY,
    FONT_PACKAGE,
    font_path,
    register_matplotlib,
    register_reportlab,
)
from sim.reports.charts import (
    OKABE_ITO,
    count_axis,
    figure_bytes,
    hours_axis,
    money_axis,
    percent_axis,
    text_colour_on,
    use_report_style,
    zero_based,
)


def tick_texts(fig, axis) -> list[str]:
    fig.canvas.draw()
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text()]


def test_the_font_comes_from_a_package_not_the_system():
    path = font_path()
    assert path.suffix == ".ttc" and FONT_PACKAGE in path.parts  # inside the installed wheel
    assert register_matplotlib() == register_matplotlib() == CJK_FAMILY  # idempotent
    assert matplotlib.rcParams["font.sans-serif"].count(CJK_FAMILY) == 1
    assert register_reportlab() == register_reportlab()


def test_chinese_labels_render_without_missing_glyphs(caplog):
    use_report_style()
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG):
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.bar(["李明", "王芳", "赵强（新人保护）"], [120, 95, 40], label="首次触达")
        ax.set_title("各销售首次触达线索数：熔断、回款、冻结")
        ax.set_ylabel("线索数", fontweight="bold")  # the face has no bold: no log line either
        ax.legend()
        svg = figure_bytes(fig, "svg").decode("utf-8")
        png = figure_bytes(fig, "png")
        plt.close(fig)
    messages = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "Glyph" in m or "findfont" in m], messages
    assert svg.startswith("<?xml") and "<dc:date>" not in svg
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert width > 1.5 * fig.get_figwidth() * fig.dpi  # 2x resolution


def test_counts_and_money_never_in_scientific_notation():
    use_report_style()
    fig, (counts, money, shares) = plt.subplots(1, 3)
    counts.plot([0, 1], [0, 1_000_000])
    count_axis(counts, "y", label="线索数")
    money.plot([0, 1], [0, 2_000_000])
    money_axis(money, "CNY", "zh")
    shares.plot([0, 1], [0.1, 0.6])
    percent_axis(shares, "y")
    ticks = tick_texts(fig, counts.yaxis)
    assert "1,000,000" in ticks and not any("e" in t for t in ticks)
    assert counts.yaxis.get_offset_text().get_text() == ""
    assert counts.get_ylabel() == "线索数"
    assert "¥1,000,000" in tick_texts(fig, money.yaxis)
    assert "50%" in tick_texts(fig, shares.yaxis)
    plt.close(fig)


def test_large_money_is_compact_and_hours_carry_their_unit():
    use_report_style()
    fig, (money, hours) = plt.subplots(1, 2)
    money.plot([0, 1], [0, 30_000_000])
    money_axis(money, "CNY", "en")
    hours.plot([0, 1], [0.5, 2.5])
    hours_axis(hours, lang="zh")
    assert "CN¥10M" in tick_texts(fig, money.yaxis)
    assert "1.5 小时" in tick_texts(fig, hours.yaxis)
    plt.close(fig)


def test_zero_based_keeps_small_effects_small():
    fig, ax = plt.subplots()
    ax.bar(["before", "after"], [100, 101])
    ax.set_ylim(99.5, 101.5)  # the zoom that makes 1% look like a cliff
    zero_based(ax)
    assert ax.get_ylim()[0] == 0
    ax.set_ylim(-5, -1)
    zero_based(ax)
    assert ax.get_ylim() == (-5, 0)
    plt.close(fig)
    with pytest.raises(ValueError, match="which"):
        zero_based(ax, "z")  # type: ignore[arg-type]


def test_palette_and_text_colour():
    assert len(set(OKABE_ITO)) == 8
    assert text_colour_on("#F0E442") == "black"  # never white on yellow
    assert text_colour_on("#0072B2") == "white"


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_show_embeds_the_picture_only_and_closes_the_figure(monkeypatch, fmt):
    import IPython.display

    from sim.reports.charts import show

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: shown.append((a, k)))
    use_report_style(fmt)
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    show(fig)
    (((bundle,), options),) = shown
    assert list(bundle) == ["image/svg+xml" if fmt == "svg" else "image/png"]  # no text/plain
    assert options["raw"] is True
    assert not plt.fignum_exists(fig.number)
    use_report_style()
