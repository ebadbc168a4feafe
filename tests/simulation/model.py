"""What the simulation expects, computed only from what people did (never from calsync's own records).

Between two checkpoints (moments when the faults stop and sync runs until quiet), the seed logs what each person
did to each event: platform answers, calendar answers, deletions of the entry, and what may disturb a pending
calendar answer. At the next checkpoint :class:`Expectations` turns that log into what must hold:

- **RSVP** (design.md §3, core/plan.py): an answer is never lost. A platform answer after every calendar answer
  decides; a calendar answer after the last platform answer decides unless there was a platform answer before it
  in the same window ("the platform wins when both changed since the last sync": without knowing when calsync
  last synced, either outcome is allowed then). Disturbances (the entry deleted, the target calendar moved, a
  disconnect, the event cancelled) may drop a pending calendar answer: then the earlier values are allowed too.
- **Tombstones** (seeds, "Duplicate events"): an entry the person deleted stays deleted unless their RSVP changed
  in the platform or they asked for a Resync after the deletion. A platform change or Resync *before* the deletion
  in the same window makes either outcome acceptable (calsync may have seen both changes at once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from calsync.core.model import RsvpStatus


class Kind(str, Enum):
    PLATFORM = "platform"
    """The person changed their RSVP in the platform (only real changes are logged)."""
    CALENDAR = "calendar"
    """The person answered in their calendar, on calsync's current entry."""
    DELETE = "delete"
    """The person deleted calsync's entry in their calendar."""
    RESYNC = "resync"
    """The person asked for a Resync (lifts tombstones)."""
    DISTURB = "disturb"
    """Something that may drop a pending calendar answer (target moved, disconnect, cancel)."""
    REMOVED = "removed"
    """A disconnect removed the entries: see ``KNOWN_ISSUES["own-removal-taken-for-deletion"]``."""
    MOVE = "move"
    """The person picked another target calendar: see ``KNOWN_ISSUES["deleted-entry-returns-on-move"]``."""
    RECONNECT = "reconnect"
    """The person connected (again): see ``KNOWN_ISSUES["resync-lost-on-reconnect"]``."""


@dataclass(frozen=True)
class Act:
    step: int
    kind: Kind
    status: RsvpStatus | None = None
    fresh: bool = False
    """An answer or a deletion on an entry that was not there at the last checkpoint (written during the chaos)."""


KNOWN_ISSUES: dict[str, str] = {
    "resync-lost-on-reconnect": (
        "FIXED (calsync commit 'Fixes found by the simulation'; its strict replay passes); the tolerance stays until a "
        "full --strict batch confirms it. "
        "services.connections._store_grant sets resync_requested=False when a person reconnects, so a Resync "
        "requested before the reconnect (and not yet run) is dropped and entries the person deleted stay deleted. "
        "Replay: python -m tests.simulation.run --seed 39 --strict"
    ),
    "answer-lost-on-unconfirmed-create": (
        "FIXED (calsync commit 'Fixes found by the simulation'; its strict replay passes); the tolerance stays until a "
        "full --strict batch confirms it. "
        "When a create's answer is lost (or the worker dies after it), the next round finds the entry by its key "
        "and adopts it with response=None (entry_run._lookup keeps the write-ahead's response, which _create "
        "never set), so core.plan sees 'no baseline' and the platform overwrites an answer the person gave in "
        "the calendar meanwhile. Replay: python -m tests.simulation.run --seed 50 --strict"
    ),
    "deleted-entry-returns-on-move": (
        "A person deletes an entry, then picks another target calendar before calsync saw the deletion: the full "
        "round lists only the new calendar, so the old entry's remote leg stays UNKNOWN and core.plan moves it "
        "(Delete there, treated as done on 404, then Create here): the deleted entry comes back. "
        "Replay: python -m tests.simulation.run --seed 385 --strict"
    ),
    "google-answer-kept-in-secondary-calendar": (
        "In a Google secondary calendar (the dedicated one) the person's attendee entry is not the calendar's own "
        "(sandbox: Calendar.owner_ids is only the calendar id), so an update cannot change its responseStatus: the "
        "entry keeps the old answer, calsync records the answer it sent (entry_run._written uses the content's), "
        "and the next pull adopts the old answer as if the person gave it, reverting their platform RSVP. "
        "Replay: python -m tests.simulation.run --seed 13 --long --strict"
    ),
    "platform-change-consumed-before-deletion-seen": (
        "A person deletes an entry, then changes their RSVP in the platform and back (declined, then tentative "
        "again): a round that runs before calsync saw the deletion renders the same content, writes nothing and "
        "records the new RSVP version (MarkInSync); when the deletion is seen later the platform no longer counts "
        "as changed, and the entry is tombstoned although the RSVP changed after the deletion. "
        "Replay: python -m tests.simulation.run --seed 1865 --strict"
    ),
    "deleted-unconfirmed-create-returns": (
        "A person deletes an entry whose create calsync never confirmed (the worker died after the provider made "
        "it): the next round looks it up by key, finds nothing and creates it again. "
        "Replay: python -m tests.simulation.run --seed 1806 --strict"
    ),
    "own-removal-taken-for-deletion": (
        "FIXED (calsync commit 'Fixes found by the simulation'; its strict replay passes); the tolerance stays until a "
        "full --strict batch confirms it. "
        "Disconnect with remove_entries: when a delete's answer is lost (the provider deleted it, calsync saw an "
        "error), services.connections._release_remote keeps that entry's row mapped; after a reconnect the full "
        "round finds it gone and tombstones it as if the person had deleted it, so it never comes back. "
        "Seen in --long seed 27 (it depends on which delete loses its answer: replay with --repeat). "
        "The other way round, an entry the "
        "person deleted just before such a disconnect comes back after the reconnect when calsync had not seen "
        "the deletion yet (its row is removed with the others), but stays deleted when it had (a tombstone row is "
        "not 'mapped', so it is kept): seen in --long seed 108."
    ),
}
"""Engine defects the simulation found and reported, tolerated (each only where it applies, see
:meth:`Expectations.tolerates`) so the CI batch stays green until they are fixed; ``--strict`` turns every
tolerance off. Deleting an entry once its fix lands turns that one off for good."""


class Presence(str, Enum):
    PRESENT = "present"
    ABSENT = "absent"
    EITHER = "either"


@dataclass
class Expectations:
    """The log since the last checkpoint, and what carried over from it."""

    baseline: dict[tuple[int, int], RsvpStatus | None] = field(default_factory=dict)
    """(person id, event id) -> the platform RSVP at the last checkpoint."""
    tombstones: set[tuple[int, int]] = field(default_factory=set)
    """(connection id, event id) the person had deleted, still absent at the last checkpoint."""
    rsvp_acts: dict[tuple[int, int], list[Act]] = field(default_factory=dict)
    entry_acts: dict[tuple[int, int], list[Act]] = field(default_factory=dict)
    """(connection id, event id) -> deletions, platform changes and Resyncs that decide presence."""
    cancelled: set[int] = field(default_factory=set)
    """Events cancelled in this window."""
    strict: bool = False
    """Judge without the tolerance for :data:`KNOWN_ISSUES`."""
    carry: dict[tuple[int, int], set[RsvpStatus]] = field(default_factory=dict)
    """Calendar answers from earlier windows that may still be read (held back by a disconnect)."""

    # ---- logging -------------------------------------------------------------------------------------------
    def rsvp(self, person_id: int, event_id: int, act: Act) -> None:
        self.rsvp_acts.setdefault((person_id, event_id), []).append(act)

    def entry(self, connection_id: int, event_id: int, act: Act) -> None:
        self.entry_acts.setdefault((connection_id, event_id), []).append(act)

    def new_window(self, baseline: dict[tuple[int, int], RsvpStatus | None], tombstones: set[tuple[int, int]]) -> None:
        """A checkpoint passed: what was observed becomes the baseline of the next window, and calendar answers
        a disturbance held back (a disconnect before calsync read them) may still arrive later."""
        carry: dict[tuple[int, int], set[RsvpStatus]] = {}
        for key, actual in baseline.items():
            pending = self._pending(key) - {actual}
            if pending:
                carry[key] = {p for p in pending if p is not None}
        self.carry = carry
        self.baseline, self.tombstones = baseline, tombstones
        self.rsvp_acts, self.entry_acts, self.cancelled = {}, {}, set()

    def _pending(self, key: tuple[int, int]) -> set[RsvpStatus | None]:
        """Calendar answers of this window that a disturbance may have left unread (plus older ones still
        pending when nothing newer was said on either side)."""
        acts = self.rsvp_acts.get(key, [])
        last_platform = max((i for i, a in enumerate(acts) if a.kind is Kind.PLATFORM), default=-1)
        later = [a for a in acts[last_platform + 1 :] if a.kind is Kind.CALENDAR]
        if not later:
            return set(self.carry.get(key, set())) if last_platform < 0 else set()
        first_answer = acts.index(later[0])
        disturbed = any(a.kind in (Kind.DISTURB, Kind.DELETE) for a in acts[first_answer + 1 :])
        return {a.status for a in later} if disturbed else set()

    # ---- judging ---------------------------------------------------------------------------------------------
    def acceptable_rsvps(self, person_id: int, event_id: int) -> set[RsvpStatus | None]:
        base = self.baseline.get((person_id, event_id))
        acts = self.rsvp_acts.get((person_id, event_id), [])
        if event_id in self.cancelled:
            return {base} | {a.status for a in acts if a.status is not None}
        last_platform = max((i for i, a in enumerate(acts) if a.kind is Kind.PLATFORM), default=-1)
        settled = acts[last_platform].status if last_platform >= 0 else base
        later = [a for a in acts[last_platform + 1 :] if a.kind is Kind.CALENDAR]
        held: set[RsvpStatus | None] = set(self.carry.get((person_id, event_id), set()))
        if last_platform >= 0:
            held = set()  # a platform answer since: the platform wins over anything older
        if not later:
            return {settled} | held
        first_answer = acts.index(later[0])
        disturbed = any(a.kind is Kind.DISTURB or a.kind is Kind.DELETE for a in acts[first_answer + 1 :])
        allowed: set[RsvpStatus | None] = {later[-1].status}
        if last_platform >= 0 or (later[-1].fresh and self.tolerates("answer-lost-on-unconfirmed-create")):
            allowed.add(settled)
        if disturbed:
            allowed |= {settled} | {a.status for a in later} | held
        return allowed

    def tolerates(self, issue: str) -> bool:
        """Whether a known defect is tolerated: not in strict mode, and only while it is listed (delete its
        :data:`KNOWN_ISSUES` entry when the fix lands, and the simulation checks it strictly again)."""
        return not self.strict and issue in KNOWN_ISSUES

    def every_value(self, person_id: int, event_id: int) -> set[RsvpStatus | None]:
        """Every answer given in this window, and the baseline (the loosest judgement, for known issues)."""
        acts = self.rsvp_acts.get((person_id, event_id), [])
        return {self.baseline.get((person_id, event_id))} | {a.status for a in acts if a.status is not None}

    def presence(self, connection_id: int, event_id: int) -> Presence:
        """Whether a desired entry (attending, scheduled) must be in the calendar, given the person's deletions."""
        acts = self.entry_acts.get((connection_id, event_id), [])
        deletes = [i for i, a in enumerate(acts) if a.kind is Kind.DELETE]
        lifts = [i for i, a in enumerate(acts) if a.kind in (Kind.PLATFORM, Kind.RESYNC)]
        firm = [i for i in lifts if self._firm(acts, i)]
        if not deletes and (connection_id, event_id) not in self.tombstones:
            removed = any(a.kind is Kind.REMOVED for a in acts)
            tolerated = self.tolerates("own-removal-taken-for-deletion")
            return Presence.EITHER if removed and tolerated else Presence.PRESENT
        last_delete = deletes[-1] if deletes else -1
        if deletes and acts[last_delete].fresh and self.tolerates("deleted-unconfirmed-create-returns"):
            return Presence.EITHER
        after = [acts[i] for i in lifts if i > last_delete and acts[i].kind is Kind.PLATFORM]
        consumed = bool(deletes and after and after[-1].status is acts[last_delete].status)
        if consumed and self.tolerates("platform-change-consumed-before-deletion-seen"):
            firm = [i for i in firm if acts[i].kind is not Kind.PLATFORM]
        if any(i > last_delete for i in firm):
            return Presence.PRESENT
        if lifts:
            return Presence.EITHER
        later = acts[last_delete + 1 :]
        moved = any(a.kind is Kind.MOVE for a in later) and self.tolerates("deleted-entry-returns-on-move")
        removed = any(a.kind is Kind.REMOVED for a in later) and self.tolerates("own-removal-taken-for-deletion")
        return Presence.EITHER if deletes and (moved or removed) else Presence.ABSENT

    def _firm(self, acts: list[Act], index: int) -> bool:
        """A lift that must take effect: not a Resync that a later reconnect may drop (a known issue)."""
        if acts[index].kind is not Kind.RESYNC or not self.tolerates("resync-lost-on-reconnect"):
            return True
        return not any(a.kind is Kind.RECONNECT for a in acts[index + 1 :])
