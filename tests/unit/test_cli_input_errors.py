"""A mistyped option gets a plain message and exit code 2 before any server is asked, never a traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from trailhound.alerts.search import checked_since
from trailhound.cli import app

NO_SERVER = {"ELASTICSEARCH_URL": "http://127.0.0.1:9"}  # nothing listens: asking it would fail differently


@pytest.mark.parametrize("since", ["now-1h", "now-7d", "now-1d/d", "now", "now-1H", "2026-11-28",
                                   "2026-11-28T09:00:00Z", "2026-11-28T09:00:00+01:00", "2026-11-28T09:00",
                                   "1764316800000"])
def test_times_elasticsearch_reads_are_kept(since: str) -> None:
    assert checked_since(since) == since


@pytest.mark.parametrize("since", ["yesterday", "1h", "now-1 h", "now-1x", "28/11/2026", "", "2026-11-28 09:00",
                                   "2026-W48-1"])
def test_other_times_are_refused_with_what_is_accepted(since: str) -> None:
    with pytest.raises(ValueError, match="use now-1h, now-7d or a date"):
        checked_since(since)


def test_alerts_list_refuses_a_time_it_cannot_read() -> None:
    result = CliRunner().invoke(app, ["alerts", "list", "--since", "yesterday"], env=NO_SERVER)
    assert result.exit_code == 2
    assert "'yesterday' is not a time" in result.output and "Traceback" not in result.output


def test_escalations_list_refuses_an_unknown_state() -> None:
    result = CliRunner().invoke(app, ["escalations", "list", "--state", "bogus"], env=NO_SERVER)
    assert result.exit_code == 2
    assert "--state must be one of pending, delivered, acknowledged, parked" in result.output
