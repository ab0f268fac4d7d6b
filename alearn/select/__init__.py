"""Selection: uncertainty measures, trust window, diversity, calibration, fragments and the
close-contact correction set.

Modules: ``measures`` (kind registry), ``selector`` (:func:`~alearn.select.selector.select_candidates`),
``diversity`` (structure fingerprint, farthest-point sampling, time decorrelation),
``calibration`` (predicted spread vs true error), ``fragments`` (clusters cut around uncertain
atoms), ``close_contact`` (compressed structures for the repulsive wall).  Guide: docs/explore.md.
"""
