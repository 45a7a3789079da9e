"""Find a CJK font at run time so Chinese labels render, and fall back with one clear warning.

The search asks matplotlib's font manager for well-known CJK families; when its cache predates a
font installation it also scans the system font folders once and registers matching files.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
from matplotlib import font_manager

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

#: Families tried in order (simplified Chinese first; JP/TC faces of the same fonts cover hanzi too).
PREFERRED_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Noto Sans SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Source Han Sans",
    "Noto Serif CJK SC",
    "AR PL UMing CN",
)

#: File names of CJK fonts, used only when the font-manager cache does not list any family above.
_CJK_FILE = re.compile(
    r"(NotoSansCJK|NotoSerifCJK|NotoSansSC|SourceHanSans|wqy|WenQuanYi|msyh|simhei|PingFang|uming)",
    re.IGNORECASE,
)

INSTALL_HINT = (
    "no CJK font found: Chinese labels are replaced by English ones. Install one, e.g. "
    "`apt-get install fonts-noto-cjk` (Debian/Ubuntu), then delete matplotlib's font cache "
    f"({mpl.get_cachedir()}/fontlist-*.json) if it still is not found."
)


class CJKFontWarning(UserWarning):
    """No font able to draw Chinese characters is installed."""


@dataclass(frozen=True)
class FontChoice:
    """The CJK family used for figures and the file it comes from (recorded in the manifest)."""

    name: str
    path: Path


def _lookup() -> FontChoice | None:
    names = {f.name for f in font_manager.fontManager.ttflist}
    for family in PREFERRED_FAMILIES:
        if family in names:  # the regular-weight file, as text is drawn
            regular = font_manager.FontProperties(family=family, weight="normal", style="normal")
            path = font_manager.fontManager.findfont(regular, fallback_to_default=False)
            return FontChoice(family, Path(path))
    return None


@functools.cache
def find_cjk_font() -> FontChoice | None:
    """The first installed family of ``PREFERRED_FAMILIES``, or None.

    Registers CJK font files found on disk when matplotlib's cached font list misses them.
    """
    found = _lookup()
    if found is None:
        for path in sorted(font_manager.findSystemFonts()):
            if _CJK_FILE.search(Path(path).name):
                font_manager.fontManager.addfont(path)
        found = _lookup()
    return found


def rc_params(font: FontChoice | None) -> dict[RcKeyType, Any]:
    """rcParams drawing text in ``font`` (DejaVu Sans as the per-glyph fallback)."""
    families = [font.name, "DejaVu Sans"] if font else ["DejaVu Sans"]
    return {"font.family": "sans-serif", "font.sans-serif": families, "axes.unicode_minus": False}


def configure(rc: MutableMapping[RcKeyType, Any] | None = None) -> FontChoice | None:
    """Find a CJK font and set it in ``rc`` (default: matplotlib's rcParams).

    Emits a single :class:`CJKFontWarning` with the install hint when none is available.
    """
    font = find_cjk_font()
    if font is None:
        warnings.warn(INSTALL_HINT, CJKFontWarning, stacklevel=2)
    (mpl.rcParams if rc is None else rc).update(rc_params(font))
    return font
