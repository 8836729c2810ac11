"""Every environment variable Trailhound reads is in the README's one configuration table."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented_in_the_configuration_table() -> None:
    source = (ROOT / "trailhound" / "config.py").read_text()
    read = set(re.findall(r'"((?:TRAILHOUND|KAFKA|ELASTICSEARCH)_[A-Z_]+)"', source))
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`((?:TRAILHOUND|KAFKA|ELASTICSEARCH)_[A-Z_]+)\*?`", table))  # PREFIX_* too
    assert read and read <= documented, sorted(read - documented)
