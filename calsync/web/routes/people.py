"""``/api/v1/people``: people of your organization, yourself, your API tokens and your RSVPs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from calsync.services import auth, password_links, people, rsvps
from calsync.web import errors
from calsync.web.account_schemas import CreatedPersonOut, InvitationOut
from calsync.web.client import client_address
from calsync.web.deps import Actor, Ctx, Links, current_session
from calsync.web.schemas import (
    EventOut,
    Instant,
    IssuedTokenOut,
    MyRsvpOut,
    PersonIn,
    PersonOut,
    PersonPatchIn,
    RsvpOut,
    SessionsEndedOut,
    TokenIn,
    TokenOut,
)

router = APIRouter(prefix="/people", tags=["people"])


def _issued(token: auth.IssuedToken) -> IssuedTokenOut:
    return IssuedTokenOut(**TokenOut.of(token.info).model_dump(), token=token.secret)


@router.get("/me", summary="Yourself")
def me(ctx: Ctx, actor: Actor) -> PersonOut:
    return PersonOut.of(people.me(ctx, actor))


@router.patch(
    "/me",
    summary="Change your name, time zone or password (a new password needs current_password; other sessions end)",
    responses=errors.responses(429),
)
def update_me(body: PersonPatchIn, request: Request, ctx: Ctx, actor: Actor) -> PersonOut:
    if body.password is not None:
        auth.change_password(
            ctx,
            actor,
            current=body.current_password,
            new=body.password,
            address=client_address(request),
            keep_session=current_session(request),
        )
    return PersonOut.of(people.update_me(ctx, actor, name=body.name, timezone=body.timezone))


@router.delete("/me/sessions", summary="Sign out everywhere: end all your sessions (API tokens stay)")
def end_my_sessions(ctx: Ctx, actor: Actor) -> SessionsEndedOut:
    return SessionsEndedOut(ended=auth.end_sessions(ctx, actor, actor.person_id))


@router.get("/me/tokens", summary="Your API tokens (without their secrets)")
def my_tokens(ctx: Ctx, actor: Actor) -> list[TokenOut]:
    return [TokenOut.of(t) for t in auth.list_tokens(ctx, actor)]


@router.post("/me/tokens", status_code=201, summary="Create an API token for yourself (shown once)")
def create_my_token(ctx: Ctx, actor: Actor, body: TokenIn | None = None) -> IssuedTokenOut:
    return _issued(auth.issue_token(ctx, actor, actor.person_id, (body or TokenIn()).label))


@router.delete("/me/tokens/{token_id}", status_code=204, summary="Revoke one of your API tokens")
def revoke_my_token(token_id: int, ctx: Ctx, actor: Actor) -> Response:
    auth.revoke_token(ctx, actor, token_id)
    return Response(status_code=204)


@router.get("/me/rsvps", summary="Your RSVPs with their events, earliest first")
def my_rsvps(
    ctx: Ctx,
    actor: Actor,
    from_: Annotated[
        Instant | None, Query(alias="from", description="Only events not ended at this instant (with offset)")
    ] = None,
) -> list[MyRsvpOut]:
    return [
        MyRsvpOut(**RsvpOut.of(r).model_dump(), event=EventOut.of(e))
        for r, e in rsvps.my_rsvps(ctx, actor, after=from_)
    ]


@router.get("", summary="People of your organization (administrators, organizers, support)")
def list_people(ctx: Ctx, actor: Actor) -> list[PersonOut]:
    return [PersonOut.of(p) for p in people.list_people(ctx, actor)]


@router.post(
    "",
    status_code=201,
    summary="Add a person to your organization (administrators)",
    description="Without a password, the person is invited: a one-time link to set their password is mailed, or "
    "(no mail server configured, or it failed) returned here as invitation.url and written to the log.",
)
def create_person(body: PersonIn, ctx: Ctx, links: Links, actor: Actor) -> CreatedPersonOut:
    new = people.NewPerson(
        email=body.email, name=body.name, timezone=body.timezone, role=body.role, password=body.password
    )
    person, invitation = password_links.create_person(ctx, links, actor, new)
    return CreatedPersonOut(
        **PersonOut.of(person).model_dump(), invitation=None if invitation is None else InvitationOut.of(invitation)
    )


@router.post(
    "/{person_id}/password-link",
    status_code=201,
    summary="Send a person a new one-time link to set their password (administrators)",
)
def send_password_link(person_id: int, ctx: Ctx, links: Links, actor: Actor) -> InvitationOut:
    return InvitationOut.of(password_links.reinvite(ctx, links, actor, person_id))


@router.get("/{person_id}", summary="One person of your organization")
def get_person(person_id: int, ctx: Ctx, actor: Actor) -> PersonOut:
    return PersonOut.of(people.get_person(ctx, actor, person_id))


@router.delete("/{person_id}/sessions", summary="End every session of a person (administrators)")
def end_sessions(person_id: int, ctx: Ctx, actor: Actor) -> SessionsEndedOut:
    return SessionsEndedOut(ended=auth.end_sessions(ctx, actor, person_id))


@router.post("/{person_id}/tokens", status_code=201, summary="Create an API token for a person (administrators)")
def create_token(person_id: int, ctx: Ctx, actor: Actor, body: TokenIn | None = None) -> IssuedTokenOut:
    return _issued(auth.issue_token(ctx, actor, person_id, (body or TokenIn()).label))
