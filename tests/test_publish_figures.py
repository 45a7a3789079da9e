"""Figures: CJK font discovery and fallback, the tile grid, deterministic PNG/SVG bytes."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import font_manager
from publish_synthetic import make_result

from index.etl import regions as provinces
from index.publish import figures, fonts, views
from index.publish.tilegrid import TILES


@pytest.fixture(scope="module")
def result():
    return make_result()


def test_tile_grid_places_each_province_once():
    assert sorted(TILES) == sorted(provinces.labels().index)
    assert len(set(TILES.values())) == 31  # no two provinces on one tile


def test_region_labels_use_province_short_names(result):
    reg = views.regions(result.scores)
    assert reg.loc[["15", "45", "65"], "short_zh"].tolist() == ["内蒙古", "广西", "新疆"]


def test_rank_change_is_previous_minus_current(result):
    change = views.rank_change(result.scores, "index", 2024)
    idx = result.scores[result.scores["code"] == "index"]
    r23 = idx[idx["year"] == 2023].set_index("region_code")["rank"]
    r24 = idx[idx["year"] == 2024].set_index("region_code")["rank"]
    pd.testing.assert_series_equal(change.sort_index(), (r23 - r24).sort_index(), check_names=False)


def test_tree_order_is_depth_first(result):
    order = list(views.tree_order(result.nodes)["code"])
    assert order[:4] == ["index", "compute", "it_rev", "computers"]
    assert order.index("network") < order.index("ports") < order.index("storage")


def test_cjk_font_found_when_installed():
    installed = [p for p in font_manager.findSystemFonts() if fonts._CJK_FILE.search(Path(p).name)]
    if not installed:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    font = fonts.find_cjk_font()
    assert font is not None and font.name in fonts.PREFERRED_FAMILIES
    rc: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", fonts.CJKFontWarning)
        assert fonts.configure(rc) == font
    assert rc["font.sans-serif"][0] == font.name


def test_missing_cjk_font_warns_once_and_falls_back_to_english(result, monkeypatch, tmp_path):
    monkeypatch.setattr(fonts, "find_cjk_font", lambda: None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with figures.style() as font:
            fig = figures.tile_map(result.scores, result.nodes, bilingual=font is not None)
            figures.save_figure(fig, tmp_path / "map")
            chinese = figures.composite_bars(result.scores, result.nodes)  # Chinese text, no glyphs
            figures.save_figure(chinese, tmp_path / "bars")
    assert font is None
    # Only this code's own warnings count: a ResourceWarning from another test's garbage (collected
    # in this xdist worker while the block runs) must not fail it, so filter by category.
    ours = [w for w in caught if issubclass(w.category, UserWarning)]
    assert [type(w.message) for w in ours] == [fonts.CJKFontWarning]
    assert "apt-get install fonts-noto-cjk" in str(ours[0].message)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any(t.startswith("Beijing") for t in texts) and not any("北京" in t for t in texts)


def test_figures_are_byte_identical_across_builds(tmp_path):
    """Two figures built from fresh data render to identical bytes (all figures: test_publish_build)."""
    with figures.style():
        for run in ("a", "b"):
            r = make_result()
            figures.save_figure(figures.tile_map(r.scores, r.nodes), tmp_path / run / "map")
            figures.save_figure(
                figures.rank_intervals(r.rank_intervals, r.scores), tmp_path / run / "ri"
            )
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == ["map.png", "map.svg", "ri.png", "ri.svg"]
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    svg = (tmp_path / "a" / "map.svg").read_text(encoding="utf-8")
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    png = (tmp_path / "a" / "map.png").read_bytes()
    assert png.startswith(b"\x89PNG") and b"Software" not in png and b"tIME" not in png


def test_composite_stack_sums_to_arithmetic_composite(result):
    with figures.style():
        fig = figures.composite_bars(result.scores, result.nodes)
    ax = fig.axes[0]
    ends = {}
    for patch in ax.patches:  # rows are y positions; the last segment's right edge is the total
        y = round(patch.get_y() + patch.get_height() / 2)
        ends[y] = max(ends.get(y, 0.0), patch.get_x() + patch.get_width())
    composite = ax.collections[0].get_offsets()[:, 0]
    np.testing.assert_allclose([ends[k] for k in sorted(ends)], composite, rtol=1e-12)


@pytest.mark.parametrize("draw", ["composite_bars", "tile_map", "correlation_heatmap"])
def test_png_is_the_tight_box_savefig_draws(result, tmp_path, draw):
    """The PNG cut from the one draw is the picture ``savefig(bbox_inches=box)`` paints from the
    same layout: same size, margins white, and no shift by a pixel matches it better."""
    from PIL import Image

    make = getattr(figures, draw)
    with figures.style():
        figures.save_figure(make(result.scores, result.nodes), tmp_path / "cut")
        fig = make(result.scores, result.nodes)
        fig.draw_without_rendering()
        box = fig.get_tightbbox().padded(figures.PAD)
        fig.set_layout_engine("none")
        fig.savefig(tmp_path / "ref.png", dpi=figures.DPI, bbox_inches=box)
    cut, ref = (
        np.asarray(Image.open(tmp_path / f"{n}.png").convert("L"), dtype=float)
        for n in ("cut", "ref")
    )
    assert cut.shape == ref.shape
    assert (cut[:5] == 255).all() and (cut[:, :5] == 255).all()  # the white margin
    here = np.abs(cut - ref).mean()
    shifted = [np.abs(np.roll(cut, s, axis) - ref).mean() for s in (-1, 1) for axis in (0, 1)]
    assert here < min(shifted), (here, shifted)


def test_heatmap_cell_labels_are_the_values(result):
    """The heatmap's stamped labels: one outline per distinct value, at the cells that show it."""
    with figures.style():
        fig = figures.correlation_heatmap(result.scores, result.nodes)
    ax = fig.axes[0]
    corr = ax.images[0].get_array()
    stamps = [c for c in ax.collections if len(c.get_paths()) == 1 and len(c.get_offsets())]
    shown = sum(len(c.get_offsets()) for c in stamps)
    assert shown == np.isfinite(np.asarray(corr)).sum()
    assert len(stamps) == len({f"{v:.2f}" for v in np.asarray(corr)[np.isfinite(corr)]})
    for c in stamps:
        j, i = np.asarray(c.get_offsets()).T.astype(int)
        assert len({f"{v:.2f}" for v in np.asarray(corr)[i, j]}) == 1


def test_png_is_rgb_when_opaque_and_rgba_when_not():
    """An opaque figure (the house style's white face) is written as RGB; one with transparent
    pixels keeps its alpha channel, the pixels unchanged either way."""
    import io

    from matplotlib.figure import Figure
    from PIL import Image

    with figures.style():
        modes = {}
        for face in ("white", "none"):
            fig = Figure(figsize=(2, 1), facecolor=face)
            fig.add_subplot().plot([0, 1], [0, 1])
            png, _ = figures.figure_bytes(fig)
            modes[face] = Image.open(io.BytesIO(png)).mode
    assert modes == {"white": "RGB", "none": "RGBA"}


def test_heatmap_cell_labels_are_centred_on_their_ink(result):
    """Each stamped label's outline is centred on (0, 0): the box of its curves (solved exactly
    by ``Path.get_extents``) has its middle at the data point."""
    with figures.style():
        fig = figures.correlation_heatmap(result.scores, result.nodes)
    stamps = [c for c in fig.axes[0].collections if len(c.get_paths()) == 1]
    assert stamps
    for c in stamps:
        box = c.get_paths()[0].get_extents()
        np.testing.assert_allclose([box.x0 + box.x1, box.y0 + box.y1], 0.0, atol=1e-9)
