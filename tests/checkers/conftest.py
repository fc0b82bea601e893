"""Fixtures of the checker tests: the student's code of a test module's assignment, from its
``SOLUTION`` and ``RELEASE`` notebooks (module constants), run once per module."""
from __future__ import annotations

import pytest

import grading_helpers as gh


@pytest.fixture(scope="module")
def sol(request) -> dict:
    """The namespace of the solution notebook's setup and answer cells."""
    return gh.answer_namespace(request.module.SOLUTION)


@pytest.fixture(scope="module")
def stub(request) -> dict:
    """The namespace of the released notebook's setup and answer cells (the stubs)."""
    return gh.answer_namespace(request.module.RELEASE)
