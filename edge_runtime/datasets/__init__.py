"""Data sets: readers that turn recordings into labelled raw windows (numpy only).

Light on purpose: import the module you need (``hapt``, ``uci_har``, ``catalog``, ``windows``).
"""
