"""Tick records: data/schedules/<workers|workflows>/<name>/<cron key>/<epoch seconds>, one file per
fired tick, made with O_EXCL so that of all the hosts sharing the data directory exactly one gets
to fire a tick. The folder's `cron` file holds the expression, for people reading the folder."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from host.schedules.ticks import KEEP_RECORDS, Schedule, to_prune
from host.store.fsio import fsync_path, write_atomic, write_new

logger = logging.getLogger("waypost")

FOLDER = "schedules"


class TickRecords:
    """The tick records of one data directory; `sync` (durability fsync) makes each claim durable."""

    def __init__(self, data_dir: Path, sync: bool = True) -> None:
        self.root = data_dir / FOLDER
        self.sync = sync

    def folder(self, schedule: Schedule) -> Path:
        return self.root / f"{schedule.kind}s" / schedule.target / schedule.cron.key

    def claim(self, schedule: Schedule, tick: float) -> bool:
        """Record `tick` as fired; False when it already was (here or by another host). The record
        is on disk (with durability fsync) before this returns True."""
        folder = self._prepare(schedule)
        body = {"cron": schedule.cron.text, "scheduledTime": int(tick * 1000), "pid": os.getpid()}
        try:
            write_new(str(folder / str(int(tick))), json.dumps(body).encode(), self.sync)
        except FileExistsError:
            return False
        if self.sync:
            fsync_path(folder)
        return True

    def newest(self, schedule: Schedule) -> float | None:
        """The newest recorded tick (epoch seconds), None when the cron never fired here."""
        ticks = self._ticks(self.folder(schedule))
        return float(max(ticks)) if ticks else None

    def prune(self, schedule: Schedule, keep: int = KEEP_RECORDS) -> None:
        """Delete all but the newest `keep` records (another host may be pruning too)."""
        folder = self.folder(schedule)
        for tick in to_prune(self._ticks(folder), keep):
            try:
                os.unlink(folder / str(tick))
            except FileNotFoundError:
                pass

    def _prepare(self, schedule: Schedule) -> Path:
        folder = self.folder(schedule)
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            if self.sync:
                for parent in (folder.parent, folder.parent.parent, self.root, self.root.parent):
                    fsync_path(parent)
        if not (folder / "cron").exists():
            write_atomic(str(folder / "cron"), (schedule.cron.text + "\n").encode(), self.sync)
        return folder

    @staticmethod
    def _ticks(folder: Path) -> list[int]:
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return []
        return [int(n) for n in names if n.isdigit()]
