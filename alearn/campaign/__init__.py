"""The active-learning loop: ``alearn run``, snapshots, resume, stop rules, status, export.

``loop`` runs iterations of ``stages`` (explore → select → label → augment → train → evaluate)
through the ``parts`` seam (real implementations in ``adapters``; iteration-0 data in
``initial``), records stage progress durably (``progress``), seals each iteration as an
immutable, checksummed ``snapshot`` in the campaign directory (``layout``), and stops by the
rules in ``stop``.  ``setup`` creates or resumes a campaign (``confdiff``: which changes are
allowed), ``testset`` keeps the held-out split, ``evaluate`` measures errors and calibration,
``status`` and ``export`` serve the commands in ``commands``.
"""
