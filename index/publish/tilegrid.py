"""Tile-grid map of China: one equal square per province, placed to keep neighbours adjacent.

A tile grid needs no boundary data and gives small provinces (北京, 天津, 上海, 海南) the same
visual weight as large ones. Layout (row 0 = north, column 0 = west; GB/T 2260 codes)::

    col:   0     1     2     3     4     5     6     7
    r0                                             黑龙江23
    r1                             内蒙古15 北京11 辽宁21 吉林22
    r2   新疆65 青海63 甘肃62 宁夏64 山西14 河北13 天津12
    r3         西藏54 四川51 陕西61 河南41 山东37
    r4                     重庆50 湖北42 安徽34 江苏32 上海31
    r5               云南53 贵州52 湖南43 江西36 浙江33
    r6                     广西45 广东44 福建35
    r7                     海南46

Columns follow longitude bands (≈ <95°E, 95–102, 102–106, 106–110, 110–114, 114–118, 118–122,
>122°E) and rows latitude, adjusted so that every province touches most of its real neighbours.
"""

from __future__ import annotations

#: region code → (row, column) of its tile.
TILES: dict[str, tuple[int, int]] = {
    "23": (0, 7),
    "15": (1, 4), "11": (1, 5), "21": (1, 6), "22": (1, 7),
    "65": (2, 0), "63": (2, 1), "62": (2, 2), "64": (2, 3), "14": (2, 4), "13": (2, 5), "12": (2, 6),
    "54": (3, 1), "51": (3, 2), "61": (3, 3), "41": (3, 4), "37": (3, 5),
    "50": (4, 3), "42": (4, 4), "34": (4, 5), "32": (4, 6), "31": (4, 7),
    "53": (5, 2), "52": (5, 3), "43": (5, 4), "36": (5, 5), "33": (5, 6),
    "45": (6, 3), "44": (6, 4), "35": (6, 5),
    "46": (7, 3),
}  # fmt: skip

N_ROWS = 1 + max(r for r, _ in TILES.values())
N_COLS = 1 + max(c for _, c in TILES.values())
