"""Provider API calls per change (target: 1 per needed write, 0 for a no-op) and per idle connection per day
(issue 5), on both providers.

One person, connected through the real flow, push notifications on (calsync served on a socket, so the sandbox's
notifications, including the ones calsync's own writes cause, reach it and cost what they cost). Each step
makes one change, then runs rounds until nothing is due and no notification is in flight; the calls counted are
every request on calsync's HTTP transport to the Calendar API / Graph (reads and writes apart) during that
settling, so echo pulls are included. Token refreshes go to the OAuth token endpoint, not the Calendar API or
Graph, and are left out (at most one an hour while the connection is used).

Per idle connection per day: N polls are forced (the poll made due, as the poll interval passing would) and a
push channel renewal is forced (its expiry brought within the renewal margin), and the calls each costs are
measured. Then::

    calls/day = 86,400 / poll_interval x calls_per_poll + 86,400 / renew_every x calls_per_renewal
    renew_every = channel lifetime x (1 - renew_margin)   (Google 7 d, Graph 4,200 min; margin 0.25)

    .venv/bin/python -m bench.api_calls [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update

from bench.common import git_revision, write_result
from bench.figures import at_most, figure
from bench.harness import LATENCY_MS, Stack, serving, stack, wait_for
from calsync.core.connection import Provider
from calsync.core.model import RsvpStatus
from calsync.store.sync_models import ConnectionRow
from calsync.sync.push import PUSH_TTL
from calsync.sync.report import EngineSettings

A, T, D = RsvpStatus.ACCEPTED, RsvpStatus.TENTATIVE, RsvpStatus.DECLINED
DEFAULT_POLL = 300.0


def _api(path: str) -> bool:
    return "/calendar/v3/" in path or "/graph/v1.0/" in path


def settle_counting(s: Stack) -> dict[str, int]:
    """Rounds until nothing is due and the sandbox has no notification in flight; the API calls they made."""
    mark = s.traffic.mark()
    for _ in range(20):
        s.settle()
        time.sleep(0.3)  # a notification of calsync's own write is sent right after the write's answer
        wait_for(lambda: s.sb.notifier.pending == 0, timeout=10, what="notifications in flight")
        with s.runtime.db.session(write=False) as session:
            due = session.scalar(
                select(func.count()).where(ConnectionRow.due_at <= s.runtime.service.now())
            )
        if not due:
            break
    requests = [r for r in s.traffic.since(mark) if _api(r.path)]
    writes = sum(1 for r in requests if r.method != "GET")
    return {"calls": len(requests), "writes": writes, "reads": len(requests) - writes}


def _update_connection(s: Stack, email: str, **instants: Any) -> None:
    """Time passes for the connection (a poll or a channel renewal comes due), without waiting."""
    conn_id = s.connection_id(email)
    with s.runtime.db.session() as session:
        session.execute(update(ConnectionRow).where(ConnectionRow.id == conn_id).values(**instants))


def scenario(provider: Provider, polls: int) -> dict[str, Any]:
    with stack(push=True, poll_interval=DEFAULT_POLL) as s, serving(s):
        email = f"ann@{provider.value}.bench.example"
        s.person(email)
        s.set_latency(LATENCY_MS)
        steps: dict[str, dict[str, int]] = {}

        def step(name: str, action: Callable[[], None]) -> None:
            action()
            steps[name] = settle_counting(s)

        step("connect (first, full round)", lambda: s.connect(email, provider))
        ev = s.event("Launch party")
        step("accept", lambda: s.rsvp(email, ev, A))
        step("tentative", lambda: s.rsvp(email, ev, T))
        step("decline", lambda: s.rsvp(email, ev, D))
        step("accept again", lambda: s.rsvp(email, ev, A))
        step("event edit (title)", lambda: _edit(s, ev, "Launch party v2"))
        def no_op() -> None:
            _edit(s, ev, "Launch party v2")
            s.rsvp(email, ev, A)

        step("no-op edit (same title, same answer)", no_op)
        step("calendar answer (maybe)",
             lambda: s.answer_in_calendar(email, s.entries(email, provider)[0], provider, T))
        poll_calls = []
        for _ in range(polls):
            now = s.runtime.service.now()
            _update_connection(s, email, next_poll_at=now, due_at=now)
            poll_calls.append(settle_counting(s)["calls"])
        now = s.runtime.service.now()
        _update_connection(s, email, channel_expires_at=now + dt.timedelta(minutes=5), due_at=now)
        renewal = settle_counting(s)
        entries = len(s.entries(email, provider))
    per_poll = sum(poll_calls) / len(poll_calls)
    ttl = PUSH_TTL[provider]
    renew_every = ttl * (1 - EngineSettings(base_url="").renew_margin)
    per_day = 86_400 / DEFAULT_POLL * per_poll + 86_400 / renew_every * renewal["calls"]
    return {
        "steps": steps, "polls_forced": polls, "calls_per_poll": per_poll, "calls_per_renewal": renewal["calls"],
        "renewal": renewal, "poll_interval_seconds": DEFAULT_POLL, "channel_lifetime_seconds": ttl,
        "renew_every_seconds": renew_every, "idle_calls_per_day": round(per_day, 1), "entries_at_end": entries,
        "formula": f"86400/{DEFAULT_POLL:g} x {per_poll:g} + 86400/{renew_every:g} x {renewal['calls']}",
    }


def _edit(s: Stack, event_id: int, title: str) -> None:
    from calsync.services import events

    events.update_event(s.runtime.service, s.organizer, event_id,
                        events.EventPatch(fields=frozenset({"title"}), title=title))


EXPECTED = {  # needed writes for each step: the target is calls == writes needed (+ nothing for a no-op)
    "accept": 1, "tentative": 1, "decline": 1, "accept again": 1, "event edit (title)": 1,
    "no-op edit (same title, same answer)": 0, "calendar answer (maybe)": 0,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    polls = 3 if args.quick else 10
    results: dict[str, Any] = {}
    figures = []
    for provider in (Provider.GOOGLE, Provider.MICROSOFT):
        r = scenario(provider, polls)
        results[provider.value] = r
        for name, counts in r["steps"].items():
            print(f"{provider.value:9s} {name:40s} calls {counts['calls']}  writes {counts['writes']}")
            if name in EXPECTED:
                need = EXPECTED[name]
                figures.append(at_most(f"{provider.value}: {name}: writes", counts["writes"], need, "calls"))
                figures.append(figure(f"{provider.value}: {name}: all calls (reads included)", counts["calls"],
                                      "calls", target=f"<= {need} write(s) + echo/pull reads",
                                      note=f"{counts['reads']} reads"))
            else:
                figures.append(figure(f"{provider.value}: {name}: calls", counts["calls"], "calls"))
        print(f"{provider.value}: {r['calls_per_poll']:g} calls/poll, {r['calls_per_renewal']} calls/renewal, "
              f"{r['idle_calls_per_day']} calls/idle day ({r['formula']})")
        figures.append(figure(f"{provider.value}: calls per idle connection per day", r["idle_calls_per_day"],
                              "calls/day", note=r["formula"]))
    path = write_result("api_calls", {
        "revision": git_revision(), "quick": args.quick, "latency_ms_added": LATENCY_MS, "database": "sqlite",
        "conditions": "sandbox in-process over HTTPS, 100 ms added per API request; push on, calsync served on a "
                      "socket; rounds run to quiescence after each change; SQLite",
        "results": results, "figures": figures,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
