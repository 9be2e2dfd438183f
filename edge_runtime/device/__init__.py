"""The device pipeline, what ``har-edge run`` executes on a device:

sources -> ingest (parse, units, plausibility) -> resampling -> windowing -> classifier
(LiteRT) -> smoothing -> stream (records) -> sinks, driven by the daemon loop.

Light on purpose: importing this package loads nothing; import the module you need.
"""
