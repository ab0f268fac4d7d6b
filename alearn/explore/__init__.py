"""Exploration: MD walkers (and displacement / strain samplers) on a surrogate, with monitors.

Modules: ``run`` (schedule, :func:`~alearn.explore.run.run_walkers`, ``ExplorationResult``),
``walker`` (one walker, rollbacks), ``monitor`` (trust window + sanity checks),
``sanity`` (per-pair distance limits), ``integrators`` (ASE integrators), ``frames``
(compact frame storage), ``commands`` (``alearn explore``).  Guide: docs/explore.md.
"""
