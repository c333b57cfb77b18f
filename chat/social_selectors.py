"""Reads of the social side: a person's connections, and the privacy-filtered context a chat turn may use.

The privacy rule, applied here and nowhere else: another person's likes reach a viewer only when that person is
discoverable (SocialSettings.discoverable) AND, for recommendations from connections, the two are connected
(a tie from the viewer of any kind, or a friendship either way). "People like me" reads only discoverable people.
A connection who is not discoverable reaches the engine as a name, without anything they did.
"""

from __future__ import annotations

from django.db.models import Q

from chat.selectors import history_profile  # the one reading of a person's stored grades
from recommender.engine import rules
from recommender.engine.social import Person, SocialContext
from recommender.models import Profile, Relation, SocialSettings
from recommender.services.relations import display_name_of

CONNECTIONS_READ = 50  # connections whose likes one turn reads
DISCOVERABLE_READ = 200  # discoverable people one "people like me" turn compares with
LIKES_READ = 300  # newest stored events per person (chat.selectors.HISTORY_LIMIT)


def is_discoverable(profile: Profile) -> bool:
    """Return whether the person chose to be discoverable (no settings row: not discoverable)."""
    return SocialSettings.objects.filter(profile=profile, discoverable=True).exists()


def connection_ties(*, profile: Profile) -> list[Relation]:
    """Return the ties that connect others to the person: the person's own, and friendships others made to them."""
    ties = (
        Relation.objects.filter(Q(profile=profile) | Q(other=profile, kind__in=rules.SYMMETRIC_RELATIONS))
        .select_related("profile__user", "profile__social", "other__user", "other__social")
        .order_by("-weight", "pk")
    )
    return list(ties)


def _visible_likes(profile: Profile) -> tuple[str, ...]:
    """Return what a discoverable person liked (stored presses, ratings and imports; never words said in a chat)."""
    return tuple(history_profile(profile=profile).liked[:LIKES_READ])


def connections_list(*, profile: Profile) -> list[dict]:
    """Return the person's connections as their page shows them: id, name, kind, weight, whether the tie is
    theirs to remove, and whether the other person shares their likes."""
    out = []
    for tie in connection_ties(profile=profile):
        own = tie.profile_id == profile.pk
        other = tie.other if own else tie.profile
        out.append(
            {
                "id": tie.pk,
                "name": display_name_of(other),
                "kind": tie.kind,
                "weight": tie.weight,
                "own": own,
                "shares_likes": _discoverable(other),
            }
        )
    return out


def _discoverable(profile: Profile) -> bool:
    try:
        settings = profile.social
    except SocialSettings.DoesNotExist:
        return False
    return bool(settings and settings.discoverable)


def social_context(*, profile: Profile | None) -> SocialContext:
    """Return what a social turn may use of the person's connections and of discoverable people."""
    if profile is None or profile.pk is None or profile.kind == Profile.Kind.GUEST:
        return SocialContext(signed_in=False)
    ctx = SocialContext()
    seen: set[int] = set()
    for tie in connection_ties(profile=profile)[:CONNECTIONS_READ]:
        other = tie.other if tie.profile_id == profile.pk else tie.profile
        if other.pk in seen:
            continue
        seen.add(other.pk)
        name = display_name_of(other)
        if not _discoverable(other):
            ctx.private.append(name)
            continue
        ctx.connections.append(
            Person(key=str(other.pk), name=name, liked=_visible_likes(other), relation=tie.kind, weight=tie.weight)
        )
    people = (
        Profile.objects.filter(social__discoverable=True)
        .exclude(pk=profile.pk)
        .select_related("user", "social")
        .order_by("pk")[:DISCOVERABLE_READ]
    )
    for other in people:
        ctx.discoverable.append(
            Person(key=str(other.pk), name=display_name_of(other), liked=_visible_likes(other), relation="")
        )
    return ctx


def my_social_data(*, profile: Profile) -> dict:
    """Return the person's own social data for "download my data": settings and ties (nothing of anyone else's)."""
    settings = SocialSettings.objects.filter(profile=profile).first()
    return {
        "discoverable": bool(settings and settings.discoverable),
        "display_name": settings.display_name if settings else "",
        "connections": [
            {k: c[k] for k in ("name", "kind", "weight", "own")} for c in connections_list(profile=profile)
        ],
    }
