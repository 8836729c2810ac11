"""A test run killed before it cleaned up has its topics and indices removed by the next run.

Without this, every interrupted run leaves a namespace's topics behind; after a few hundred of them,
Kafka needs minutes to load their partitions at start and the next suite fails waiting for it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from elasticsearch import Elasticsearch
from kafka.admin import KafkaAdminClient, NewTopic

from tests.conftest import _namespace_records, _sweep_abandoned_namespaces
from tests.helpers import wait_for
from trailhound.config import Settings

pytestmark = pytest.mark.integration


def test_the_namespace_of_a_dead_run_is_swept_and_a_live_one_is_kept(stack_settings: Settings) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    abandoned = stack_settings.with_namespace(f"{stack_settings.namespace}dead")
    live = stack_settings.with_namespace(f"{stack_settings.namespace}live")
    admin = KafkaAdminClient(bootstrap_servers=stack_settings.kafka_bootstrap)
    es = Elasticsearch(stack_settings.elasticsearch_url)
    try:
        admin.create_topics([NewTopic(f"{abandoned.namespace}.posts.raw", 1, 1),
                             NewTopic(f"{live.namespace}.posts.raw", 1, 1)])
        es.indices.create(index=f"trailhound-{abandoned.namespace}-alerts")
        (_namespace_records(stack_settings) / abandoned.namespace).write_text(f"{dead}\n")
        (_namespace_records(stack_settings) / live.namespace).write_text(f"{os.getpid()}\n")

        _sweep_abandoned_namespaces(stack_settings)

        def topics_once_swept() -> set[str] | None:
            names = set(admin.list_topics())
            return None if f"{abandoned.namespace}.posts.raw" in names else names

        topics = wait_for(topics_once_swept, timeout_s=30, what="the abandoned run's topic to be deleted")
        assert f"{live.namespace}.posts.raw" in topics, "a run still going keeps its topics"
        assert not es.indices.exists(index=f"trailhound-{abandoned.namespace}-alerts")
        assert not (_namespace_records(stack_settings) / abandoned.namespace).exists()
    finally:
        (_namespace_records(stack_settings) / live.namespace).unlink(missing_ok=True)
        admin.close()
        es.close()
