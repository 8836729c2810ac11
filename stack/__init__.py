"""A real Kafka and Elasticsearch on this machine, for development, demos and integration tests.

Trailhound needs a Kafka cluster and an Elasticsearch 8 cluster. Partners run their own (see
``docker-compose.yml``); on a developer's machine or in CI, :mod:`~trailhound.stack.manager` fetches both
servers from Maven Central into the cache folder once and runs them as background processes on
127.0.0.1, with no container engine needed. Use ``trailhound.stack.manager.up / status / down``.
A command-level package: nothing in the pipeline imports it.
"""

__all__ = ["manager"]
