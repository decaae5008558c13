"""What this build of kcanary is: the version pip recorded when it installed the package, and the
Python it runs on. `kcanary version`, the controller's start-up line and its `kcanary_build_info`
metric all read it here, so they cannot disagree.
"""

from __future__ import annotations

import platform
from importlib import metadata

DISTRIBUTION = "kcanary"

NOT_INSTALLED = "unknown"
"""The version of a source tree run without `pip install` (no package metadata to read)."""


def kcanary_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return NOT_INSTALLED


def python_version() -> str:
    return platform.python_version()


def describe() -> str:
    """One line for people: `kcanary 0.1.0 (python 3.11.2)`, and how to get a real version."""
    version = kcanary_version()
    if version == NOT_INSTALLED:
        version = f"{NOT_INSTALLED} (run from a source tree: `pip install .` records the version)"
    return f"kcanary {version} (python {python_version()})"
