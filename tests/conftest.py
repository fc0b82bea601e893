"""Shared fixtures. pytest puts this folder (tests/) on sys.path, so test files in
sub-folders can import the shared helper modules next to it (``grading_helpers``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def root() -> Path:
    """The repository (the folder holding course/, lectures/, solutions/)."""
    return ROOT


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: every test that draws numbers is reproducible."""
    return np.random.default_rng(0)
