"""The exact server releases the local stack runs, in one place.

Kafka 4.1 is what production users run in 2026 and is verified with the project's clients
(aiokafka >= 0.13, kafka-python >= 2.1). Elasticsearch stays on the 8.x line because the Python
client is pinned below 9 and because 8.x still runs on the Java 17 installed on our machines.
``kafka-pom.xml`` repeats the Kafka version; a unit test keeps the two in step.
"""

from __future__ import annotations

__all__ = ["DEPENDENCY_PLUGIN", "ELASTICSEARCH_ARTIFACT", "ELASTICSEARCH_VERSION", "KAFKA_VERSION",
           "MIN_JAVA"]

KAFKA_VERSION = "4.1.1"
ELASTICSEARCH_VERSION = "8.19.21"
ELASTICSEARCH_ARTIFACT = (
    f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ELASTICSEARCH_VERSION}:zip"
)
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
MIN_JAVA = 17
