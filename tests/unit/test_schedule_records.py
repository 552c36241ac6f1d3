"""host.schedules.records: the tick files under data/schedules, on a real folder."""

from __future__ import annotations

import json
from pathlib import Path

from host.schedules.crons import parse_cron
from host.schedules.records import TickRecords
from host.schedules.ticks import Schedule


def test_a_tick_is_claimed_once_and_old_records_are_pruned(tmp_path: Path) -> None:
    records = TickRecords(tmp_path / "data")
    schedule = Schedule("worker", "reports", parse_cron("*/5 * * * *"))
    other = TickRecords(tmp_path / "data", sync=False)  # a second host on the same folder
    assert records.newest(schedule) is None
    assert records.claim(schedule, 1_796_128_500.0)
    assert not other.claim(schedule, 1_796_128_500.0), "the second claim of a tick loses"
    folder = tmp_path / "data" / "schedules" / "workers" / "reports" / schedule.cron.key
    assert (folder / "cron").read_text() == "*/5 * * * *\n"
    body = json.loads((folder / "1796128500").read_text())
    assert body["cron"] == "*/5 * * * *" and body["scheduledTime"] == 1_796_128_500_000
    for n in range(1, 15):
        assert other.claim(schedule, 1_796_128_500.0 + 300 * n)
    records.prune(schedule, keep=3)
    assert sorted(p.name for p in folder.iterdir()) == ["1796132100", "1796132400", "1796132700", "cron"]
    assert records.newest(schedule) == 1_796_132_700.0
    records.prune(schedule, keep=3)  # again, or by another host at once: nothing more to do
    assert records.newest(schedule) == 1_796_132_700.0
