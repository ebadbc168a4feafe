"""The decision table: from desired, last-synced and remote state to a list of actions (design.md §3).

Three legs per (connection, event), never two servers' clocks (peer lesson: last-write-wins on ``updated``
suffers skew and echoes):

- **platform**: the person's RSVP in calsync and its version counter;
- **synced**: what calsync recorded after the last successful sync (the merge base, Dropbox's "Synced tree");
- **remote**: what the provider says now (UNKNOWN when this round did not look).

:func:`plan` first decides the pull leg (a calendar answer or deletion coming back), then the push leg (what the
calendar must hold for the resulting RSVP). Actions are values; only the engine's executor touches a provider
(vdirsyncer ``sync/__init__.py::_get_actions`` is the model). :func:`plan_reconcile` matches a full listing of
calsync's entries in the target calendar against the store first (adopt, drop duplicates) and feeds the result
through :func:`plan`.

The conflict rule (both sides changed the answer since the last sync): **the platform wins**. The person's
latest word in calsync is explicit and already shown there; the calendar's answer is rewritten to match.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum

from calsync.core.entry import EntryContent, parse_entry_key
from calsync.core.model import RsvpStatus


class RemoteState(str, Enum):
    UNKNOWN = "unknown"
    """This round did not look at the provider for this entry."""
    PRESENT = "present"
    ABSENT = "absent"
    """Deleted or cancelled in the calendar (Google ``status: cancelled``, Graph ``@removed``, 404/410)."""


@dataclass(frozen=True, slots=True)
class Platform:
    """The platform leg: the person's RSVP status and version (None when they have no RSVP)."""

    rsvp_status: RsvpStatus | None
    rsvp_version: int | None


@dataclass(frozen=True, slots=True)
class Synced:
    """The last-synced leg, as the store holds it for this (connection, event)."""

    provider_id: str | None = None
    calendar_id: str | None = None
    etag: str | None = None
    fingerprint: str | None = None
    response: RsvpStatus | None = None
    """The answer both sides agreed on at the last sync."""
    rsvp_version: int | None = None
    """The platform RSVP version the last sync saw."""
    tombstone: bool = False
    """The person deleted the entry in their calendar: do not re-create it while their RSVP stands."""
    create_pending: bool = False
    """A create was sent and its outcome never recorded (crash, timeout): look before creating again."""
    delete_pending: bool = False
    """A delete was sent and its outcome never recorded: the entry missing now is calsync's own doing, not the
    person's (a 404 cannot tell them apart, so this write-ahead does; found by the simulation, seed 385)."""
    changed_unseen: bool = False
    """The platform RSVP changed in a round that wrote nothing and did not look at the calendar: a deletion seen
    later may predate that change, so it does not count as the person's word against it (seed 1865). Cleared
    when calsync next sees the entry (a write, a listing, or an incremental pull that does not report it)."""
    generation: int = 0


@dataclass(frozen=True, slots=True)
class Remote:
    """The remote leg for this entry in this round."""

    state: RemoteState = RemoteState.UNKNOWN
    provider_id: str | None = None
    etag: str | None = None
    response: RsvpStatus | None = None
    """The person's answer as the calendar shows it; None when it shows none we can read."""
    written: str | None = None
    """The fingerprint calsync stored on the entry when it last wrote it (an extended property), when known."""

    @staticmethod
    def of(item: ListedEntry) -> Remote:
        """A listed entry as this round's remote leg."""
        return Remote(RemoteState.PRESENT, item.provider_id, item.etag, item.response, item.written)


# ---- actions -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdoptCalendarAnswer:
    """Set the platform RSVP to the answer given in the calendar (source: the provider).

    Conditional on the RSVP still being at ``expected_version``: if the person changed it in the platform
    meanwhile, the adoption is skipped and the next round sees a platform change (the platform wins).
    """

    status: RsvpStatus
    expected_version: int | None


@dataclass(frozen=True, slots=True)
class RecordRemote:
    """Remember the remote etag and the answer both sides now agree on.

    ``fingerprint`` is set after a calendar answer was adopted: the calendar already shows what the new RSVP
    renders to, so the push leg must not rewrite it.
    """

    etag: str | None
    response: RsvpStatus | None
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class ForgetEntry:
    """The entry is gone from the calendar: drop the provider id from the mapping."""


@dataclass(frozen=True, slots=True)
class SetTombstone:
    """Remember that the person deleted the entry, so it is not re-created while their RSVP stands."""


@dataclass(frozen=True, slots=True)
class ClearTombstone:
    """An RSVP change in the platform, or a Resync, lifts the tombstone."""


@dataclass(frozen=True, slots=True)
class Lookup:
    """Find an entry a lost create may have made (by its key), record it, then plan again."""

    key: str


@dataclass(frozen=True, slots=True)
class Create:
    content: EntryContent
    calendar_id: str
    generation: int


@dataclass(frozen=True, slots=True)
class Update:
    provider_id: str
    calendar_id: str
    content: EntryContent
    etag: str | None


@dataclass(frozen=True, slots=True)
class Delete:
    provider_id: str
    calendar_id: str | None


@dataclass(frozen=True, slots=True)
class MarkInSync:
    """Record the platform RSVP version this round brought the calendar in line with (no API call).

    Every plan but a :class:`Lookup` ends with it. When an :class:`AdoptCalendarAnswer` succeeded, the executor
    records the version that adoption produced instead.
    """

    rsvp_version: int | None
    changed_unseen: bool = False
    """The platform changed and nothing confirmed the entry is still there (see :attr:`Synced.changed_unseen`)."""


def forgotten(s: Synced) -> Synced:
    """The last-synced leg once the entry is gone from the calendar (ForgetEntry, a delete that landed)."""
    return dataclasses.replace(
        s,
        provider_id=None,
        calendar_id=None,
        etag=None,
        fingerprint=None,
        response=None,
        delete_pending=False,
        changed_unseen=False,
    )


def taken_as_entry(s: Synced, provider_id: str, calendar_id: str, etag: str | None) -> Synced:
    """The last-synced leg once calsync takes ``provider_id`` as this (connection, event)'s entry: a copy a full
    listing, a move's listing of the old calendar or a lookup found.

    What both sides agreed (``response``) was agreed about one entry. Another entry starts with no agreed answer:
    an answer it shows is then judged by what calsync wrote on it (:attr:`Remote.written`), or the platform
    decides, never against the baseline of an entry that is gone. Otherwise a copy written at an older platform
    answer would look like a calendar change made after the newer one and overwrite it (issue 11: an Outlook RSVP
    lost after a target move and expired delta links). The platform version seen stays: it is about the person's
    RSVP, not about an entry.
    """
    same = provider_id == s.provider_id
    return dataclasses.replace(
        s,
        provider_id=provider_id,
        calendar_id=calendar_id,
        etag=etag,
        fingerprint=None,
        response=s.response if same else None,
        create_pending=False,
        delete_pending=False,
    )


def recorded(s: Synced, action: RecordRemote) -> Synced:
    """The last-synced leg after :class:`RecordRemote`: the calendar showed the entry this round, so a pending
    delete did not land and the platform's latest change happened while it was there."""
    return dataclasses.replace(
        s,
        etag=action.etag,
        response=action.response,
        fingerprint=action.fingerprint or s.fingerprint,
        delete_pending=False,
        changed_unseen=False,
    )


Action = (
    AdoptCalendarAnswer
    | RecordRemote
    | ForgetEntry
    | SetTombstone
    | ClearTombstone
    | Lookup
    | Create
    | Update
    | Delete
    | MarkInSync
)
WRITES = (Create, Update, Delete)

Renderer = Callable[[RsvpStatus | None], EntryContent | None]
"""The desired entry for a given RSVP status (pure: ``calsync.core.entry.render`` with the rest fixed)."""


def plan(
    platform: Platform,
    synced: Synced | None,
    remote: Remote,
    render_for: Renderer,
    *,
    key: str,
    target_calendar_id: str,
    resync: bool = False,
) -> list[Action]:
    """The actions for one (connection, event) whose entry key is ``key``.

    Pure and total: every input combination has one answer. On Resync an entry whose remote etag moved (the
    person edited it in their calendar) is rewritten even when calsync's own fingerprint did not change.
    """
    s = synced or Synced()
    actions: list[Action] = []
    platform_changed = synced is None or s.rsvp_version != platform.rsvp_version
    rsvp = platform.rsvp_status
    entry_id = s.provider_id
    tombstone = s.tombstone
    fingerprint = s.fingerprint

    # ---- pull leg: only about an entry we know, and only when this round looked at it -----------------------
    if entry_id is not None and remote.state is RemoteState.ABSENT:
        actions.append(ForgetEntry())
        entry_id = None
        if s.delete_pending:
            pass  # calsync's own delete landed and its answer was lost: not the person's deletion.
        elif resync or platform_changed or s.changed_unseen:
            pass  # Resync wants everything back; a newer platform answer decides below whether it returns.
        elif render_for(rsvp) is not None:
            # The person deleted an entry whose RSVP still stands: respect it (seeds, "Duplicate events").
            actions.append(SetTombstone())
            tombstone = True
        # else: the platform no longer wants it either; forgetting is all.
    elif entry_id is not None and remote.state is RemoteState.PRESENT:
        answer = remote.response
        agreed = s.response
        if agreed is None and remote.written is not None and platform.rsvp_status is not None:
            # An entry adopted with no recorded baseline (a copy left by a disconnect, a lost create): it carries
            # the fingerprint calsync wrote. If that is exactly what the platform's RSVP renders to now, the
            # platform has not moved since it was written, so an answer that differs is the person's word.
            current = render_for(platform.rsvp_status)
            if current is not None and current.fingerprint() == remote.written:
                agreed, platform_changed = platform.rsvp_status, False
        if answer is None or answer is RsvpStatus.NEEDS_ACTION or answer == agreed:
            # No readable answer, or the same one as last time (our own write coming back: no echo).
            actions.append(RecordRemote(remote.etag, agreed))
        elif agreed is None:
            # No answer was ever agreed for this entry (adopted copy, lost create): there is no baseline to call
            # this a change against, so the platform decides and the push leg rewrites or removes it.
            actions.append(RecordRemote(remote.etag, None))
        elif platform_changed or s.changed_unseen:
            # Both sides changed since calsync last saw the entry: the platform wins. (A platform change recorded
            # without looking, ``changed_unseen``, is not a baseline an answer can be newer than: the answer may
            # predate it; issue 11, --long seed 40031.) The calendar no longer shows what we recorded, so forget
            # the fingerprint and the push leg rewrites it.
            actions.append(RecordRemote(remote.etag, s.response))
            fingerprint = None
        else:
            # The person answered in their calendar and the platform did not move: the calendar's answer wins.
            # If our last write was current, the calendar now shows exactly what the new answer renders to: no
            # rewrite. If the event changed since (stale write), the push leg updates it.
            last_written = s.fingerprint or remote.written
            was_current = (before := render_for(agreed)) is not None and before.fingerprint() == last_written
            rsvp = answer
            adopted = render_for(rsvp)
            fingerprint = adopted.fingerprint() if adopted is not None and was_current else None
            actions.append(AdoptCalendarAnswer(answer, platform.rsvp_version))
            actions.append(RecordRemote(remote.etag, answer, fingerprint))

    if tombstone and entry_id is not None and remote.state is RemoteState.PRESENT:
        # An entry exists again although the person had deleted it (they undid the deletion, or a full reconcile
        # adopted a copy): it is theirs to keep, so the tombstone no longer describes the calendar.
        actions.append(ClearTombstone())
        tombstone = False

    # ---- push leg: make the calendar hold what the (possibly updated) RSVP asks for --------------------------
    if tombstone and (resync or platform_changed):
        actions.append(ClearTombstone())
        tombstone = False
    desired = render_for(rsvp)
    if tombstone:
        return [*actions, MarkInSync(platform.rsvp_version)]  # deleted by the person; RSVP unchanged: leave it
    if entry_id is None and s.create_pending:
        return [*actions, Lookup(key)]  # a create may have landed: look before writing
    if (
        s.delete_pending
        and entry_id is not None
        and remote.state is RemoteState.UNKNOWN
        and desired is not None
        and s.calendar_id == target_calendar_id
    ):
        return [*actions, Lookup(key)]  # a delete may have landed, and the entry is wanted again: look first
    if desired is None:
        if entry_id is not None:
            actions.append(Delete(entry_id, s.calendar_id))  # declined, withdrawn, cancelled, or module off
        return [*actions, MarkInSync(platform.rsvp_version)]
    if entry_id is None:
        return [*actions, Create(desired, target_calendar_id, s.generation + 1), MarkInSync(platform.rsvp_version)]
    if s.calendar_id != target_calendar_id:
        # The person picked another calendar: the entry moves (delete there, create here).
        move: list[Action] = [Delete(entry_id, s.calendar_id), Create(desired, target_calendar_id, s.generation + 1)]
        return [*actions, *move, MarkInSync(platform.rsvp_version)]
    edited_remotely = resync and remote.state is RemoteState.PRESENT and remote.etag not in (None, s.etag)
    if fingerprint == desired.fingerprint() and not edited_remotely:
        # Nothing the calendar shows would change: 0 calls. If the platform changed and this round did not look
        # at the entry, remember that nothing confirmed it is still there (a deletion seen later may be older).
        unseen = remote.state is RemoteState.UNKNOWN and (platform_changed or s.changed_unseen)
        return [*actions, MarkInSync(platform.rsvp_version, unseen)]
    update = Update(entry_id, target_calendar_id, desired, remote.etag or s.etag)
    return [*actions, update, MarkInSync(platform.rsvp_version)]


# ---- full reconcile ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListedEntry:
    """One calsync-tagged item found by listing the target calendar."""

    key: str
    provider_id: str
    etag: str | None
    response: RsvpStatus | None
    written: str | None = None
    """The fingerprint property calsync stored on it when it wrote it (see :attr:`Remote.written`)."""


@dataclass(slots=True)
class Reconciled:
    """A full listing matched against the store: the remote leg per event, and duplicates to delete."""

    remote_by_event: dict[int, Remote] = field(default_factory=dict)
    adopted: dict[int, str] = field(default_factory=dict)
    """Event id -> provider id adopted because the store had no (or a stale) mapping."""
    duplicates: list[ListedEntry] = field(default_factory=list)


def plan_reconcile(
    listing: Iterable[ListedEntry],
    stored: dict[int, Synced],
    *,
    installation_id: str,
    connection_id: int,
) -> Reconciled:
    """Match every listed entry of this installation and connection to the store.

    - Several entries for one event: keep the one the store maps (else the lowest id), delete the others.
    - An entry the store does not map (lost create, reconnect, restored backup): adopt it.
    - A mapped entry missing from the listing: remote ABSENT.
    - Entries of other installations or connections are not ours to touch.
    """
    out = Reconciled()
    groups: dict[int, list[ListedEntry]] = {}
    for item in listing:
        parsed = parse_entry_key(item.key)
        if parsed is None or parsed[0] != installation_id or parsed[1] != connection_id:
            continue
        groups.setdefault(parsed[2], []).append(item)
    for event_id, items in groups.items():
        items.sort(key=lambda i: i.provider_id)
        mapped = stored.get(event_id)
        keep = next((i for i in items if mapped and i.provider_id == mapped.provider_id), None)
        if keep is None:
            keep = items[0]
            out.adopted[event_id] = keep.provider_id
        out.duplicates.extend(i for i in items if i is not keep)
        out.remote_by_event[event_id] = Remote.of(keep)
    for event_id, synced in stored.items():
        if event_id not in groups and synced.provider_id is not None:
            out.remote_by_event[event_id] = Remote(RemoteState.ABSENT, synced.provider_id)
    return out
