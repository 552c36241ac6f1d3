"""The store: where instances live, as an interface the engine, the service and the CLI use.

`InstanceStore` is everything the rest of Waypost may do to stored instances; `Lease` is one
instance held (locked) by this process. host.store.filestore is the implementation on files
(the layout of SPEC 4.1); it is the only module that knows that layout. Each docstring says what
is atomic and what is durable when the call returns. "Durable" means on disk with durability
fsync; with durability relaxed, in the page cache (it survives a crash of the process, not of
the machine).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class InboxItem:
    """A request waiting in an instance's inbox: a control request or an event."""

    name: str  # sorts in arrival order
    kind: str  # "control" or "event"
    body: dict[str, Any]


class Lease(Protocol):
    """One instance, locked by this process until release(); only its holder writes its journal."""

    workflow: str
    instance_id: str
    meta: dict[str, Any]  # the instance document (instance.json's content)
    entries: list[dict[str, Any]]  # the journal as it was when the lease was taken (torn tail cut)
    damage: str | None  # why the journal cannot be used (names the file and line), else None

    def append(self, entry: dict[str, Any], raw: dict[str, str] | None = None) -> None:
        """Add one entry (given "t" if it has none) at the journal's end, all or nothing: on any
        error (StorageFull included) the journal is as it was. `raw`: fields whose value is given as
        already-encoded JSON text. Written when this returns, durable after flush()."""

    def hold(self, entry: dict[str, Any], raw: dict[str, str] | None = None) -> None:
        """Add `entry` with the next append, or on its own within a moment: one write instead of
        two for a step that finishes at once. Never durable by itself."""

    async def flush(self) -> None:
        """Return once everything appended so far is durable (one group commit for many leases)."""

    def reset(self, request: str | None = None) -> dict[str, Any]:
        """Restart: keep the journal's bytes beside it as a restarted copy, start it again with the
        queued entry (returned; "inbox": `request`, the restart request's inbox name), and drop
        the events waiting in inbox/ (the run they were sent to is gone). Durable after flush();
        a restart cut short is finished by the next open. Done again on the same journal (a
        crash came before the cut), it keeps no second copy."""

    def restart_from(
        self, step: tuple[str, str, int], request: str | None = None
    ) -> list[dict[str, Any]] | None:
        """Restart from a step (kind, name, count), SPEC 3.8: keep the journal's lines before that
        step's first line, keep the whole journal beside it as a restarted copy (as reset does),
        put the events the dropped lines had delivered back into inbox/ in their original order,
        and go on with a queued status carrying "from_step" (and "inbox": `request`). Returns the
        journal's entries now; None if it has no such step (nothing changed). Durable after
        flush(). Done again on the same journal, it keeps no second copy and puts back no event
        that is back already."""

    def write_status(self, document: dict[str, Any]) -> None:
        """Queue a status.json rewrite on the store's writer: writes land in order, the newest queued
        document wins, readers see a whole document. Not durable (status.json is rebuilt from the
        journal when missing or damaged). A final status of an instance with a retention (SPEC
        3.11) also records its expiry in the expiry index, before a later release() drops its due
        entry (durable once the writer reaches it), so a crash between the two leaves the
        instance due, and the next host writes its final status, and its expiry, again."""

    def inbox(self) -> list[InboxItem]:
        """The requests in inbox/, oldest first (unreadable ones are skipped)."""

    def inbox_done(self, name: str) -> None:
        """Remove a request that was taken, once the status writes queued before it have landed."""

    def mark_due(self, when: float) -> None:
        """Record that the instance needs a host at `when` (what other hosts and recovery read)."""

    async def release(self, next_due: float | None, seen: set[str]) -> None:
        """Record when the instance is due next (None: never; it is final or paused), then unlock,
        after the writes queued before. `seen`: the inbox names this lease has looked at; if a
        request arrived after them the instance is due at once instead. Returns once unlocked;
        the lease is unusable after."""


class InstanceStore(Protocol):
    """All stored instances of all workflows."""

    durable: bool

    async def create(self, meta: dict[str, Any], status: dict[str, Any]) -> None:
        """Make a queued instance from its instance document, atomically: all of it appears at once
        or nothing does (InstanceExists, StorageFull); durable when this returns."""

    def open(self, workflow: str, instance_id: str) -> Lease | None:
        """Lock the instance and read its journal; None if another holder has the lock.
        InstanceNotFound if there is no such instance; InstanceUnreadable if its journal cannot be
        used (a symlink, no permission: its status then says errored, naming the file)."""

    def exists(self, workflow: str, instance_id: str) -> bool: ...

    def read_status(self, workflow: str, instance_id: str) -> dict[str, Any]:
        """The newest status document: one queued for writing here, else status.json, else one
        rebuilt from the journal. InstanceNotFound if there is no such instance."""

    def read_journal(self, workflow: str, instance_id: str) -> tuple[list[dict[str, Any]], list[str]]:
        """The journal's usable entries and one message per bad line; never writes."""

    def statuses(self, workflow: str) -> list[dict[str, Any]]:
        """The status document of every instance of `workflow` (unreadable ones are left out)."""

    def listing(
        self, workflow: str, status: str | None, search: str, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of status documents, newest first: up to `limit` after skipping `offset`, of the
        instances whose status is `status` (None: any) and whose id contains `search` (any case);
        and whether more follow. Reads only what the page needs (host.store.filelist)."""

    def status_counts(self, workflow: str) -> dict[str, int]:
        """How many instances of `workflow` are in each status (final ones counted from a cache)."""

    def workflows(self) -> list[str]:
        """Workflows that have stored instances."""

    def workflow_times(self, workflow: str) -> tuple[float, float] | None:
        """When the workflow's first instance was stored and when its store last changed (epoch
        seconds); None if it has none."""

    def put_inbox(self, workflow: str, instance_id: str, kind: str, body: dict[str, Any]) -> str:
        """Leave a request in the instance's inbox atomically (readers see all of it or nothing) and
        signal the hosts; durable when this returns. Returns its name. InstanceNotFound."""

    def pending_actions(self, workflow: str, instance_id: str) -> tuple[str, ...]:
        """The actions of control requests waiting in the instance's inbox."""

    def prepare(self, workflow: str) -> None:
        """Make the workflow ready to run here: rebuild its due index if it is missing, clear what
        interrupted creates left, finish removals a crash cut short. Bad instance folders are
        logged and skipped."""

    def unindexed(self, workflow: str) -> list[tuple[float, str]]:
        """Due instances the due index misses (left by a crash of an older version, or a folder
        copied in), found by looking at every instance without an entry; their entries are added.
        Slow (it reads each one); a host runs it once per workflow, after it starts."""

    def due(self, workflow: str) -> list[tuple[float, str]]:
        """(due time, instance id) of every instance that needs a host: queued, running, waiting, or
        signalled (due 0) because something arrived in its inbox."""

    def delete(self, workflow: str, instance_id: str) -> None:
        """Remove a final instance now (blocking; call it from a thread). Atomic: the folder is
        renamed out of the instances in one step (readers see the whole instance or none; what
        the rename left is finished by prepare() or sweep() after a crash), then removed, its due
        and expiry entries with it; durable when this returns. It holds the instance's lock
        throughout: an instance another holder has for more than a moment is InvalidTransition,
        as is one that has not ended ("terminate it first"); InstanceNotFound if there is none."""

    def sweep(self, workflow: str, now: float) -> list[str]:
        """Remove the instances whose retention ended by `now` (epoch seconds), each as delete()
        does, found through the expiry index: it reads the entries due by `now` and the instances
        they name, never every instance (unless the index is missing: then it is rebuilt once
        from the instance folders). Instances another holder has are left for the next sweep;
        entries whose instance is gone, restarted or kept longer are dropped or moved. Blocking;
        returns the ids removed."""

    def expiring(self, workflow: str, until: float) -> list[tuple[float, str]]:
        """(expiry time, instance id) of the expiry index's entries due by `until`, soonest first."""

    def change_token(self, workflow: str) -> int:
        """A value that changes whenever due() would change (another process signalled)."""

    async def aclose(self) -> None:
        """Finish every queued write and release the store's threads."""
