"""Recording feedback events, idempotently, from chat, API and imports."""
from __future__ import annotations

import math
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from recommender.models import Interaction, Item, Profile

RATING_RANGE = (0.5, 5.0)
ERROR_VALUE_NOT_FINITE = "The value must be a finite number."
ERROR_RATING_VALUE = "A rating needs a value between 0.5 and 5."
ERROR_UNKNOWN_KIND = "Unknown feedback kind '{kind}'; use one of: {choices}."


def interaction_record(
    *,
    profile: Profile,
    item: Item,
    kind: str,
    value: float | None = None,
    origin: str = str(Interaction.Origin.API),  # the stored value "api" (mypy has no Django plugin here)
    idempotency_key: str | None = None,
    occurred_at: datetime | None = None,
    conversation=None,
    context: dict | None = None,
) -> tuple[Interaction, bool]:
    """Store one feedback event; return (event, created). A repeated idempotency key returns the stored one."""
    if kind not in Interaction.Kind.values:
        raise ValidationError(ERROR_UNKNOWN_KIND.format(kind=kind, choices=", ".join(Interaction.Kind.values)))
    if value is not None and not math.isfinite(float(value)):
        # inf/NaN would be stored and then break every JSON answer that carries the event.
        raise ValidationError(ERROR_VALUE_NOT_FINITE)
    if kind == Interaction.Kind.RATING:
        if value is None or not (RATING_RANGE[0] <= float(value) <= RATING_RANGE[1]):
            raise ValidationError(ERROR_RATING_VALUE)
        value = float(value)
    elif value is not None:
        value = float(value)
    if idempotency_key:
        existing = Interaction.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    event = Interaction(
        profile=profile,
        item=item,
        kind=kind,
        value=value,
        origin=origin,
        idempotency_key=idempotency_key or None,
        occurred_at=occurred_at or timezone.now(),
        conversation=conversation,
        context=context or {},
    )
    event.full_clean()
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:
        # A concurrent retry with the same key won the race: the event is stored once.
        return Interaction.objects.get(idempotency_key=idempotency_key), False
    transaction.on_commit(lambda: _queue_policy_update(event.pk))
    return event, True


def _queue_policy_update(event_id: int) -> None:
    """Queue the bandit update for a new event; a broker outage must not lose the stored event."""
    try:
        from recommender.tasks import update_bandit_policy

        update_bandit_policy.delay()
    except Exception:  # noqa: BLE001 - the periodic schedule catches up later
        import logging

        logging.getLogger(__name__).warning("could not queue bandit update after event %s", event_id)
