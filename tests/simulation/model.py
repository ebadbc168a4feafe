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
    """A disconnect removed the entries (calsync forgets them; the reconnect backfills)."""
    MOVE = "move"
    """The person picked another target calendar (an entry they deleted before it stays deleted)."""
    RECONNECT = "reconnect"
    """The person connected (again): a Resync asked for before it still runs."""


@dataclass(frozen=True)
class Act:
    step: int
    kind: Kind
    status: RsvpStatus | None = None
    fresh: bool = False
    """An answer or a deletion on an entry that was not there at the last checkpoint (written during the chaos)."""
    unconfirmed: bool = False
    """A deletion of an entry calsync's store did not map (a create whose answer it never recorded)."""


PROVIDER_LIMITS: dict[str, str] = {
    "graph-deleted-unconfirmed-create": (
        "Microsoft only. A person deletes an entry whose create calsync never confirmed (the worker died after "
        "Graph made it): a deleted event leaves /me/events, and Graph offers no way to find it by its "
        "transactionId or extended property (provider-facts §3.2, §3.3), so calsync cannot tell it from a create "
        "that never happened and creates it once more. On Google the deleted copy is found "
        "(events.list iCalUID + showDeleted) and the deletion is respected. docs/sync.md, 'Known limits'."
    ),
    "google-secondary-calendar-answer": (
        "Google only. In a secondary calendar no attendee is the calendar itself, so Google shows the person no "
        "Yes / No / Maybe there and an update cannot change the attendee's response (provider-facts §1.2, "
        "``self``): the answer such an entry shows is the one it was created with. calsync reads no answer "
        "there (it used to read its own stale write back as the person's answer, seed 13 --long)."
    ),
}
"""What the providers do not allow, documented in docs/sync.md ("Known limits"): not calsync defects, so the checker
allows exactly these, where each applies (``checks.py`` and ``model.py`` name the key at the place it is allowed).
Engine defects are never tolerated: a seed that finds one fails until it is fixed."""


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
        if event_id in self.cancelled:  # answers held back from earlier windows may still have arrived first
            held_back = set(self.carry.get((person_id, event_id), set()))
            return {base} | {a.status for a in acts if a.status is not None} | held_back
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
        if last_platform >= 0:
            allowed.add(settled)
        if disturbed:
            allowed |= {settled} | {a.status for a in later} | held
        return allowed

    def presence(self, connection_id: int, event_id: int) -> Presence:
        """Whether a desired entry (attending, scheduled) must be in the calendar, given the person's deletions."""
        acts = self.entry_acts.get((connection_id, event_id), [])
        deletes = [i for i, a in enumerate(acts) if a.kind is Kind.DELETE]
        lifts = [i for i, a in enumerate(acts) if a.kind in (Kind.PLATFORM, Kind.RESYNC)]
        if not deletes and (connection_id, event_id) not in self.tombstones:
            return Presence.PRESENT
        last_delete = deletes[-1] if deletes else -1
        if deletes and acts[last_delete].unconfirmed:  # PROVIDER_LIMITS["graph-deleted-unconfirmed-create"]
            return Presence.EITHER
        if any(i > last_delete for i in lifts):
            return Presence.PRESENT
        if lifts:
            return Presence.EITHER
        later = acts[last_delete + 1 :]
        # A disconnect that removed the entries forgets what calsync knew about them: a deletion it had not seen
        # before then cannot be remembered, and the reconnect backfills what the RSVPs ask for.
        removed = any(a.kind is Kind.REMOVED for a in later)
        return Presence.EITHER if deletes and removed else Presence.ABSENT
