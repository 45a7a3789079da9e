"""compute-index: the China Comprehensive Computing Power Index (中国综合算力指数)."""

__version__ = "0.1.0"
