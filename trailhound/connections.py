"""How every client authenticates to Kafka and Elasticsearch, in one place.

Why it exists: on a partner's servers (``docker-compose.yml``) Kafka requires SASL/SCRAM with a user per
role (ingest, worker, publisher, verdict producer) and Elasticsearch serves TLS with its own CA; on the
local stack neither is used. Every client (kafka-python producers and admin, aiokafka readers, the
Faust app, the Elasticsearch clients) takes its options from here, so a setting applies everywhere.
"""

from __future__ import annotations

from typing import Any

from trailhound.config import Settings

__all__ = ["es_options", "kafka_options"]


def kafka_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for kafka-python and aiokafka clients (the two share these names)."""
    if not settings.kafka_sasl_username:
        return {}
    return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.kafka_sasl_password}


def es_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for Elasticsearch clients: the CA that signed the server's certificate, if set."""
    return {"ca_certs": str(settings.elasticsearch_ca_certs)} if settings.elasticsearch_ca_certs else {}
