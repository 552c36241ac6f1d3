"""host.text.duration: the unit is chosen after rounding, so a planned 1 s retry wait that the clock
measured as 0.999994 s reads "1.0 s", not "1000 ms"."""

from __future__ import annotations

import pytest

from host.text import duration


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.0123, "12 ms"),
        (0.9994, "999 ms"),
        (0.999994, "1.0 s"),
        (3.44, "3.4 s"),
        (59.94, "59.9 s"),
        (59.96, "1 min 0 s"),
        (61.5, "1 min 2 s"),
        (3599.6, "1 h 0 min"),
        (90000, "1 d 1 h"),
        (-1, "0 ms"),
        (None, None),
    ],
)
def test_duration_picks_its_unit_after_rounding(seconds: float | None, shown: str | None) -> None:
    assert duration(seconds) == shown
