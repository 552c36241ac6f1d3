"""Schedules (SPEC 2.1, 3.10): worker `triggers.crons` and workflow `schedules`, fired once per tick
per data directory. crons: the expressions; ticks: the pure timing decisions; records: the tick
files under data/schedules; handler: calling a worker's scheduled handler; runner: the loop."""
