"""`compute-index ingest`: raw files → validated data/processed/inputs.parquet."""
