"""Measurement tools that run on a device without TensorFlow: model facts (``modelinfo``),
streaming evaluation on held-out recordings (``evaluate``) and the benchmark (``bench``).

Light on purpose: importing this package loads nothing; import the module you need.
"""
