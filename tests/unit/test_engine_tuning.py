"""Process-wide settings the engine makes for many loaded instances, and the ones it leaves alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from host.workflows.engine import GC_YOUNG_THRESHOLD, tune_gc


@pytest.fixture
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_the_youngest_generation_is_collected_less_often(thresholds: None) -> None:
    gc.set_threshold(700, 10, 10)
    tune_gc()
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, 10, 10)


@pytest.mark.parametrize("own", [(0, 10, 10), (100_000, 5, 5)])
def test_a_collector_tuned_by_the_process_is_left_alone(thresholds: None, own: tuple[int, int, int]) -> None:
    gc.set_threshold(*own)
    tune_gc()
    assert gc.get_threshold() == own


def test_status_json_follows_later_the_more_instances_are_loaded() -> None:
    from host.workflows.engine import STATUS_LOAD_UNIT, status_delay
    from host.workflows.runner import MAX_STATUS_WRITE_DELAY, STATUS_WRITE_DELAY

    assert status_delay(0) == status_delay(STATUS_LOAD_UNIT) == STATUS_WRITE_DELAY
    assert status_delay(STATUS_LOAD_UNIT + 1) == 2 * STATUS_WRITE_DELAY
    assert status_delay(4 * STATUS_LOAD_UNIT) == 4 * STATUS_WRITE_DELAY
    assert status_delay(10_000) == status_delay(10**9) == MAX_STATUS_WRITE_DELAY
    assert len({status_delay(n) for n in range(0, 100_000, 50)}) <= 6  # one queue per value
