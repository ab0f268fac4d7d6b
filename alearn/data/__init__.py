"""Labelled structures: the store (an ASE database), validation on insert, import and export.

``store`` — :class:`~alearn.data.store.Store`; ``records`` — the frozen records that travel
between packages; ``validation`` — insert checks and the content hash; ``readers`` — files of
reference codes through ASE's readers; ``transfer`` — import into and export out of a store;
``commands`` / ``views`` — ``alearn import`` and ``alearn export-data``.
"""
