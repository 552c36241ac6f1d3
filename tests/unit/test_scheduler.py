"""The scheduler alone, with the time given as an argument: nothing sleeps, nothing is stored."""

from __future__ import annotations

from host.workflows.scheduler import Scheduler

A = ("flow", "a")
B = ("flow", "b")
C = ("flow", "c")


def test_an_instance_is_taken_only_once_it_is_due() -> None:
    s = Scheduler(max_loaded=10)
    s.schedule(A, 100.0)
    assert s.take(99.9) == []
    assert s.next_due() == 100.0
    assert s.take(100.0) == [A]
    assert s.loaded(A) and s.take(200.0) == []


def test_the_earliest_schedule_wins_and_instances_come_out_in_due_order() -> None:
    s = Scheduler(max_loaded=10)
    s.schedule(A, 50.0)
    s.schedule(B, 30.0)
    s.schedule(A, 10.0)
    s.schedule(A, 70.0)
    assert s.next_due() == 10.0
    assert s.take(60.0) == [A, B]


def test_a_concurrency_limit_queues_in_arrival_order_and_a_freed_slot_lets_the_next_out() -> None:
    s = Scheduler(max_loaded=10)
    s.set_limit("flow", 1)
    for key, due in ((A, 1.0), (B, 2.0), (C, 3.0)):
        s.schedule(key, due)
    assert s.take(5.0) == [A]
    assert s.queued(B) and s.queued(C)
    s.finished(A, None)
    assert s.take(5.0) == [B]
    s.finished(B, None)
    assert s.take(5.0) == [C]


def test_an_instance_waiting_in_memory_frees_its_slot_and_takes_it_back() -> None:
    s = Scheduler(max_loaded=10)
    s.set_limit("flow", 1)
    s.schedule(A, 1.0)
    s.schedule(B, 1.0)
    assert s.take(1.0) == [A]
    s.waiting(A, True)
    assert s.take(1.0) == [B]
    s.waiting(A, False)  # both count now: a waiter that wakes is not held back
    s.schedule(C, 1.0)
    assert s.take(1.0) == [] and s.queued(C)


def test_the_loaded_cap_holds_due_instances_back_until_one_finishes() -> None:
    s = Scheduler(max_loaded=2)
    for key in (A, B, C):
        s.schedule(key, 1.0)
    assert len(s.take(1.0)) == 2
    assert s.loaded_count() == 2 and s.take(1.0) == []
    s.finished(A, None)
    assert s.take(1.0) == [C]


def test_a_schedule_while_loaded_is_kept_for_when_the_activation_ends() -> None:
    s = Scheduler(max_loaded=10)
    s.schedule(A, 1.0)
    assert s.take(1.0) == [A]
    s.schedule(A, 5.0)  # something arrived for it while it ran
    assert s.take(10.0) == []
    s.finished(A, 100.0)
    assert s.next_due() == 5.0 and s.take(5.0) == [A]


def test_finished_with_a_next_due_time_schedules_it_then() -> None:
    s = Scheduler(max_loaded=10)
    s.schedule(A, 1.0)
    s.take(1.0)
    s.finished(A, 50.0)
    assert s.take(49.0) == [] and s.take(50.0) == [A]


def test_a_queued_instance_can_be_loaded_aside_for_its_requests_and_keeps_its_place() -> None:
    s = Scheduler(max_loaded=10)
    s.set_limit("flow", 1)
    for key in (A, B, C):
        s.schedule(key, 1.0)
    assert s.take(1.0) == [A]
    assert s.load_aside(C) and not s.queued(C)
    assert not s.load_aside(C)
    s.finished(C, None, requeue=True)  # still queued: back at the front
    s.finished(A, None)
    assert s.take(1.0) == [C]


def test_an_instance_loaded_aside_for_its_requests_never_takes_a_slot() -> None:
    s = Scheduler(max_loaded=10)
    s.set_limit("flow", 1)
    s.schedule(A, 1.0)
    s.schedule(B, 1.0)
    assert s.take(1.0) == [A] and s.queued(B)
    assert s.load_aside(B)
    s.waiting(B, False)  # a status change seen while it takes its requests: still no slot
    s.finished(A, None)
    s.schedule(C, 2.0)
    assert s.take(2.0) == [C]
