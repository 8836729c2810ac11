"""The front door: posts (and analysts' verdicts) from files, stdin or HTTP are validated here and
produced to Kafka; what is invalid goes to a dead-letter topic with the reason.

It may import the core, ``trailhound.detectors`` and ``trailhound.alerts``, never the stream worker.
"""
