"""The stream worker: Faust agents that move posts from ``posts.raw`` to alerts in Elasticsearch.

It may import the core, ``trailhound.detectors`` and ``trailhound.alerts``; decisions live in
:mod:`~trailhound.streams.pipeline`, wiring in :mod:`~trailhound.streams.app`, views in
:mod:`~trailhound.streams.web`.
"""
