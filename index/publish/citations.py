"""References printed with every publication: the method, and each data provider actually used.

A provider's references are included when its pattern matches the description of a source the
data cites (``sources.csv``: source, source_table), so terms such as CEADs' "must cite" are met.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

METHOD: tuple[str, ...] = (
    "OECD, JRC (2008). Handbook on Constructing Composite Indicators: Methodology and User Guide. "
    "OECD Publishing, Paris. doi:10.1787/9789264043466-en",
    "Becker W., Caperna G., Del Sorbo M., Norlén H., Papadimitriou E., Saisana M. (2022). COINr: An "
    "R package for developing composite indicators. Journal of Open Source Software 7(78), 4567. "
    "doi:10.21105/joss.04567",
    "Saisana M., Saltelli A., Tarantola S. (2005). Uncertainty and sensitivity analysis techniques as "
    "tools for the quality assessment of composite indicators. J. R. Stat. Soc. A 168(2), 307–323.",
    "中国信息通信研究院 (CAICT). 中国综合算力指数 (China Comprehensive Computing Power Index), 2022–2025.",
)

PROVIDERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        r"NBS|stats\.gov\.cn|国家统计局|分省年度数据",
        (
            "国家统计局 (National Bureau of Statistics of China). 分省年度数据 (annual data by province). "
            "国家数据 data.stats.gov.cn.",
        ),
    ),
    (
        r"CEADs",
        (
            "Shan Y., Guan D., Zheng H., et al. (2018). China CO2 emission accounts 1997–2015. "
            "Scientific Data 5, 170201. doi:10.1038/sdata.2017.201",
            "Shan Y., Huang Q., Guan D., Hubacek K. (2020). China CO2 emission accounts 2016–2017. "
            "Scientific Data 7, 54. doi:10.1038/s41597-020-0393-y",
            "Guan Y., Shan Y., Huang Q., et al. (2021). Assessment to China's recent emission pattern "
            "shifts. Earth's Future 9, e2021EF002241. doi:10.1029/2021EF002241",
            "Shan Y., Liu J., Liu Z., et al. (2016). New provincial CO2 emission inventories in China "
            "based on apparent energy consumption data and updated emission factors. Applied Energy "
            "184, 742–750.",
            "Xu J., Guan Y., Oldfield J., et al. (2024). China carbon emission accounts 2020–2021. "
            "Applied Energy 360, 122837.",
            "CEADs 中国碳核算数据库, 省级二氧化碳排放清单 (ceads.net/data/province).",
        ),
    ),
    (
        r"科技经费投入统计公报",
        (
            "国家统计局, 科学技术部, 财政部. 全国科技经费投入统计公报 (Statistical Communiqué on National "
            "Expenditures on Science and Technology), 2017–2024.",
        ),
    ),
)


def for_sources(descriptions: Iterable[str]) -> list[str]:
    """Method references, then the references of every provider named in ``descriptions``."""
    text = "\n".join(descriptions)
    out = list(METHOD)
    for pattern, refs in PROVIDERS:
        if re.search(pattern, text):
            out.extend(refs)
    return out
