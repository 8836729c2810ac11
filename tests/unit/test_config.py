"""Configuration from the environment: defaults, overrides, and clear errors."""

from __future__ import annotations

import pytest

from trailhound.config import Settings, SettingsError


def test_defaults_point_at_the_local_stack():
    settings = Settings.from_env({})
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert settings.topic("posts.raw") == "posts.raw"
    assert settings.index("alerts") == "trailhound-alerts"


def test_namespace_separates_topics_and_indices():
    settings = Settings.from_env({"TRAILHOUND_NAMESPACE": "demo2"})
    assert settings.topic("alerts") == "demo2.alerts"
    assert settings.index("posts") == "trailhound-demo2-posts"


def test_overrides_and_analyst_list():
    settings = Settings.from_env({"KAFKA_BOOTSTRAP": "kafka:9092", "ELASTICSEARCH_URL": "https://es:9200/",
                                  "TRAILHOUND_ANALYSTS": "ana, bo ,", "TRAILHOUND_ALERT_THRESHOLD": "0.7"})
    assert settings.elasticsearch_url == "https://es:9200"
    assert settings.analysts == ("ana", "bo")
    assert settings.alert_threshold == 0.7


@pytest.mark.parametrize(("env", "message"), [
    ({"TRAILHOUND_PARTITIONS": "many"}, "whole number"),
    ({"TRAILHOUND_PARTITIONS": "0"}, "at least 1"),
    ({"TRAILHOUND_ALERT_THRESHOLD": "1.5"}, "(0, 1]"),
    ({"KAFKA_BOOTSTRAP": "localhost"}, "host:port"),
    ({"ELASTICSEARCH_URL": "localhost:9200"}, "http"),
    ({"TRAILHOUND_FEEDBACK_KEY": "short"}, "at least 32"),
    ({"TRAILHOUND_LINKAGE_PROCESS": "maybe"}, "on or off"),
    ({"TRAILHOUND_LINKAGE_SILENT_S": "5"}, "at least 10"),
    ({"TRAILHOUND_LINKAGE_SILENT_S": "nan"}, "at least 10"),
    ({"TRAILHOUND_LINKAGE_NICE": "-1"}, "from 0"),
    ({"TRAILHOUND_LINKAGE_NICE": "20"}, "to 19"),
])
def test_bad_values_are_refused_with_the_variable_named(env, message):
    with pytest.raises(SettingsError, match=None) as caught:
        Settings.from_env(env)
    assert message in str(caught.value)


@pytest.mark.parametrize(("value", "separate"), [
    (None, True), ("1", True), ("on", True), ("Yes", True), ("0", False), ("off", False), ("false", False)])
def test_the_linkage_stages_run_in_a_process_of_their_own_unless_switched_off(value, separate):
    settings = Settings.from_env({} if value is None else {"TRAILHOUND_LINKAGE_PROCESS": value})
    assert settings.linkage_process is separate


def test_topic_readers_have_consumer_groups_of_their_own_beside_fausts() -> None:
    """Each topic reader commits in its own group; posts.raw's keeps the name existing deployments have."""
    from trailhound.streams.batching import JOINED_FETCH_BYTES
    from trailhound.streams.topic_batches import topic_reader

    settings = Settings().with_namespace("ns")
    assert settings.consumer_group() == "trailhound-ns"
    raw = topic_reader(settings, "posts.raw", 500)
    links = topic_reader(settings, "linkage.links", 16, JOINED_FETCH_BYTES)
    assert (raw.topic, raw.group_id, raw.legacy_group) == ("ns.posts.raw", "trailhound-ns-raw", "trailhound-ns")
    assert (links.topic, links.group_id, links.fetch_bytes) == ("ns.linkage.links", "trailhound-ns-linkage-links",
                                                                JOINED_FETCH_BYTES)
    assert Settings().consumer_group("alerts") == "trailhound-alerts"
