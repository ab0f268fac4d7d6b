"""First-party reference calculators for alearn, registered through the entry-point group ``alearn.calculators``."""
