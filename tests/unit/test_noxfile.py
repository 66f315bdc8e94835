"""The noxfile states the nox it needs, and it is the nox the dev group installs."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_noxfile_declares_the_nox_version_the_dev_group_pins():
    match = re.search(r'^nox\.needs_version = "([^"]+)"', (ROOT / "noxfile.py").read_text(), re.M)
    assert match, "noxfile.py must set nox.needs_version (older nox crashes on nox.project)"
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    assert f"nox{match.group(1)}" in dev
