"""Importers: recordings from other apps and data sets -> the harlite data-set folder format.

One module per source (``wisdm``, ``generic`` for CSV/TSV exports and the phyphox and Sensor Logger
layouts); ``align`` puts separately clocked sensors on one uniform grid with an anti-aliasing
filter (scipy, off the device path). Each importer writes through
:mod:`edge_runtime.datasets.folder`, so what it writes is what training and the device read.
"""
