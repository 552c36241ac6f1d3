"""The pytest plugin (registered by the package under the `pytest11` entry point): the `waypost`
fixture. It imports nothing of Waypost until a test asks for the fixture, so it costs a test run
that does not use it nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from host.testing.kit import Kit


@pytest.fixture
def waypost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    """Test deployments of Waypost workflows: `waypost.deployment("config.yaml")` (see
    host.testing and docs/testing.md)."""
    from host.testing.kit import Kit

    kit = Kit(lambda: tmp_path_factory.mktemp("waypost-data"))
    try:
        yield kit
    finally:
        kit.close()
