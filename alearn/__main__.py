"""``python -m alearn`` is the same as the ``alearn`` command."""

from alearn.cli import main

raise SystemExit(main())
