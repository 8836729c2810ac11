"""Every ``trailhound`` command, the escalator's included, starts without loading the language model.

The worker preloads that model in a background thread when it imports its enrichment. A command that
does not enrich posts must not: in the escalator, the load took seconds of CPU from the deliveries.
"""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys, threading
import trailhound.cli, trailhound.commands_escalations, trailhound.streams.escalator
print(sorted(t.name for t in threading.enumerate() if t is not threading.main_thread()))
print("trailhound.detectors.language" in sys.modules)
"""


def test_the_cli_and_the_escalator_start_no_model_loading() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120)
    threads, language = out.stdout.split("\n")[:2]
    assert threads == "[]"
    assert language == "False"
