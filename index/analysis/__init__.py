"""Analysis of a built index: statistical audit, uncertainty design, Sobol' sensitivity, rank statistics.

Modules (pure functions over arrays / wide DataFrames); a build reaches them through its methods
``Build.audit``, ``Build.uncertainty``, ``Build.sensitivity`` and ``Build.leave_one_out``:

- :mod:`index.analysis.audit`      correlations, flags, Cronbach's alpha, PCA, indicator statistics
- :mod:`index.analysis.sampling`   Monte Carlo / Sobol' designs, Saltelli layouts, noisy weights
- :mod:`index.analysis.sobol`      first-order and total Sobol' indices (COINr and SALib conventions)
- :mod:`index.analysis.rankstats`  rank intervals and an exact streaming rank-count accumulator
- :mod:`index.analysis.loo`        leave-one-out rank shifts
- :mod:`index.analysis.spec`       the uncertainty specification (TOML) resolved into a design
- :mod:`index.analysis.uncertainty` the batched, exact evaluator of a design's runs
- :mod:`index.analysis.sensitivity` Sobol' indices and leave-one-out on that evaluator
"""
