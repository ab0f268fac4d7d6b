"""Plugins of four roles of alearn, found only through the entry points of the distribution
``alearn-testplugins`` beside this package (``../alearn_testplugins-0.1.dist-info``): a pair-
potential surrogate, an RMS force-spread measure, a random selector and a random-walk explorer.
Nothing in ``alearn/`` names them."""
