"""ETL: raw provincial tables (CSV/XLSX, NBS exports, any encoding) → validated long panel.

``read`` (layouts, encodings) → ``clean`` (``regions``, ``numbers``, ``units`` against the
``catalogue``) → ``validate`` (pandera schema, located problems) → ``ingest`` (Parquet output).
"""
