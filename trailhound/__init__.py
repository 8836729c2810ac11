"""Trailhound: posts in, explained alerts about possible trafficking out, for analysts and partners.

This package is the core every layer may import — configuration, shared schemas, topic names, the
clock, deterministic ids, retrying, signing and the synthetic-data generator — and imports none of
them. The layers sit beside it as subpackages: ``trailhound.detectors`` ← ``trailhound.alerts`` ←
``trailhound.streams`` / ``trailhound.ingest`` ← the commands (``cli``, ``demo``, ``provision``,
``trailhound.stack``); each imports only the core and the layers to its left (checked by
``tests/unit/test_layers.py``).
"""
