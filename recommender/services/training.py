"""Training from the database: build the engine's dataset, train, record and activate a model version."""
from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from recommender.engine import rules
from recommender.engine.data import InteractionData
from recommender.engine.types import ItemRecord
from recommender.models import Interaction, Item, ModelVersion, stated_in_chat
from recommender.services.locks import LockHeld, job_lock

logger = logging.getLogger(__name__)

# How strongly each event says "this person wants this": ratings keep their own value.
EVENT_VALUES = {"like": 5.0, "favourite": 5.0, "purchase": 5.0, "click": 3.5, "view": 3.0}
EXCLUDED_KINDS = rules.DISLIKE_KINDS  # a dislike is not an interaction for CF (rules.is_interaction)

Progress = Callable[[str, float], None] | None

RETRAIN_LOCK = "retrain"
# The holder renews the lock every RETRAIN_LOCK_RENEW_S while it trains, so a worker killed mid-run
# (SIGKILL, out of memory, the task's hard time limit) blocks the next retrain for at most the ttl.
RETRAIN_LOCK_TTL = timedelta(minutes=5)
RETRAIN_LOCK_RENEW_S = 60.0
PARTIAL_SUFFIX = ".partial"  # where recommender.engine.training writes before renaming into place


RECORD_FIELDS = ("pk", "title", "domain", "description", "aliases", "attributes")


def item_record(values: dict | Item) -> ItemRecord:
    """Return the engine's record for a catalog item or its values() row (engine ids are primary keys as text)."""
    if isinstance(values, Item):
        values = {field: getattr(values, field) for field in RECORD_FIELDS}
    return ItemRecord(
        item_id=str(values["pk"]),
        title=values["title"],
        domain=values["domain"],
        description=values["description"] or "",
        aliases=tuple(values["aliases"] or ()),
        attributes=dict(values["attributes"] or {}),
    )


def catalog_records() -> list[ItemRecord]:
    """Return every catalog item as an engine record."""
    rows = Item.objects.order_by("pk").values(*RECORD_FIELDS)
    return [item_record(row) for row in rows.iterator(chunk_size=5000)]


def dataset_from_db(*, through_event_id: int | None = None) -> InteractionData:
    """Return stored feedback (one value per user-item pair, latest wins) with the whole catalog.

    With through_event_id, only events up to that id are read, so the data matches the mark recorded on
    the version trained from it even while new feedback keeps arriving.
    """
    latest: dict[tuple[int, int], tuple[float, str, float]] = {}
    stored = Interaction.objects.all() if through_event_id is None else Interaction.objects.filter(pk__lte=through_event_id)
    events = (
        stored.exclude(kind__in=EXCLUDED_KINDS)
        .exclude(stated_in_chat())  # words said in one conversation stay with it
        .order_by("occurred_at", "pk")
        .values_list("profile_id", "item_id", "kind", "value", "occurred_at")
    )
    for profile_id, item_id, kind, value, occurred_at in events.iterator(chunk_size=10000):
        score = value if kind == "rating" and value is not None else EVENT_VALUES.get(kind, 3.0)
        key = (profile_id, item_id)
        previous = latest.get(key)
        # An explicit rating outranks implicit signals about the same pair.
        if previous is not None and previous[1] == "rating" and kind != "rating":
            continue
        latest[key] = (float(score), kind, occurred_at.timestamp())
    users, items, values, kinds, stamps = [], [], [], [], []
    # In key order, not arrival order: the validation split that learns the fused weights draws by position, so
    # the same stored data trains the same model however it was imported (a file's rows come user by user).
    for (profile_id, item_id), (value, kind, stamp) in sorted(latest.items()):
        users.append(str(profile_id))
        items.append(str(item_id))
        values.append(value)
        kinds.append(kind)
        stamps.append(stamp)
    return InteractionData(users, items, values, timestamps=stamps, event_kinds=kinds, items=catalog_records())


def engine_config(config: dict | None = None) -> dict:
    """Return the training config with this deployment's settings filled in: torch device, embedding model."""
    from recommender.engine.training import merged_config

    cfg = merged_config(config)
    if settings.CHATREC_DEVICE and not cfg.get("device"):
        cfg["device"] = settings.CHATREC_DEVICE
    if not settings.CHATREC_TRAIN_ENCODER and not (config or {}).get("encoder"):
        cfg["encoder"] = None  # the packaged encoder serves (CHATREC_TRAIN_ENCODER)
    content = cfg["components"].get("content")
    if content is not None and settings.CHATREC_EMBEDDING_MODEL:
        embedder = dict(content.get("embedder") or {"kind": "sentence"})
        if embedder.get("kind", "sentence") == "sentence" and not embedder.get("model_path"):
            embedder["model_path"] = settings.CHATREC_EMBEDDING_MODEL
        content["embedder"] = embedder
    return cfg


def model_train(*, name: str | None = None, config: dict | None = None, progress: Progress = None,
                activate: bool = True) -> ModelVersion:
    """Train the hybrid on everything stored, write a versioned artifact, record (and activate) it.

    One training runs at a time across workers (the RETRAIN_LOCK job lock); raises LockHeld when another runs.
    """
    with job_lock(name=RETRAIN_LOCK, ttl=RETRAIN_LOCK_TTL, renew_every=RETRAIN_LOCK_RENEW_S):
        return _train_locked(name=name, config=config, progress=progress, activate=activate)


def _train_locked(*, name: str | None, config: dict | None, progress: Progress, activate: bool) -> ModelVersion:
    """Train while holding the retrain lock: mark the data read, write the artifact aside, then record it.

    The engine writes into "<name>.partial" and renames it when complete, and the version row is created
    only after that, so a worker killed mid-run leaves the active version serving and no half-written
    artifact under a version's path (leftover .partial folders are swept by the next run).
    """
    from recommender.engine.training import train_bundle

    started = time.perf_counter()
    artifacts = Path(settings.CHATREC_ARTIFACTS_DIR)
    sweep_partial_artifacts(artifacts)
    if progress:
        progress("loading data", 0.0)
    # Read the mark first: events stored while the data is read or the model trains have larger ids and
    # count as new for the next staleness check.
    mark = Interaction.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    data = dataset_from_db(through_event_id=mark)
    if data.n_users == 0 or len(data.values) == 0:
        raise ValueError("there are no interactions to train on; import some first")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
    name = name or f"hybrid-{stamp}"
    out_dir = artifacts / name
    from recommender.services.dialogues import conversation_pairs, stored_dialogues

    pairs = conversation_pairs()  # recorded dialogues and chats, for the co-mention model (none: no model)
    # Recorded dialogues with the seekers' answers teach the learned readings of reactions and opinions.
    dialogues = [dialogue for dialogue, _ in stored_dialogues() if dialogue.seeker_answers]
    manifest = train_bundle(data, out_dir, config=engine_config(config), progress=progress,
                            dialogue_pairs=pairs or None, dialogues=dialogues or None,
                            encoder_dialogues=encoder_dialogues() or None)
    elapsed = time.perf_counter() - started
    with transaction.atomic():
        version = ModelVersion.objects.create(
            name=name,
            path=str(out_dir),
            metrics=manifest.get("metrics", {}),
            config=manifest.get("config", config or {}),
            n_users=data.n_users,
            n_items=len(data.item_ids),
            n_interactions=len(data.values),
            training_seconds=elapsed,
            data_through_event_id=mark,
        )
        if activate:
            model_activate(version=version)
    return version


def sweep_partial_artifacts(artifacts: Path) -> list[str]:
    """Remove artifact folders a killed training left half-written; return their names (call under the lock)."""
    if not artifacts.is_dir():
        return []
    swept = []
    for leftover in artifacts.glob(f"*{PARTIAL_SUFFIX}"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
            swept.append(leftover.name)
    if swept:
        logger.warning("removed half-written artifacts of an interrupted training: %s", ", ".join(swept))
    return swept


def model_activate(*, version: ModelVersion) -> None:
    """Make this version the one served (the previous one is kept for rollback)."""
    with transaction.atomic():
        ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
        ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    version.is_active = True


def model_train_if_stale(*, min_new_events: int = 1, config: dict | None = None) -> dict:
    """Retrain when at least min_new_events arrived after the active version's data mark; return what happened.

    The check and the training happen under the retrain lock, so two workers never both retrain on the
    same news; the one that finds the lock held returns at once with "busy". The new version is activated
    only when it passes the gate (`model_gate_activate`); the running job's stage shows on its lock (admin).
    """
    try:
        with job_lock(name=RETRAIN_LOCK, ttl=RETRAIN_LOCK_TTL, renew_every=RETRAIN_LOCK_RENEW_S):
            active = ModelVersion.objects.filter(is_active=True).first()
            new_events = (Interaction.objects.all() if active is None
                          else Interaction.objects.filter(pk__gt=active.data_through_event_id))
            count = new_events.count()
            if active is not None and count < min_new_events:
                return {"trained": False, "new_events": count}
            version = _train_locked(name=None, config=config, progress=lock_progress(RETRAIN_LOCK), activate=False)
            activated, reason = model_gate_activate(version=version, active=active)
            lock_progress(RETRAIN_LOCK)("done" if activated else "done (kept the active version)", 1.0)
            pruned = artifacts_prune()
    except LockHeld:
        logger.info("retrain skipped: another worker is training")
        return {"trained": False, "busy": True}
    logger.info("trained %s on %s interactions (%s: %s)", version.name, version.n_interactions,
                "activated" if activated else "not activated", reason)
    return {"trained": True, "activated": activated, "gate": reason, "version": version.name, "new_events": count,
            "metrics": version.metrics, "data_through_event_id": version.data_through_event_id, "pruned": pruned}


def model_gate_activate(*, version: ModelVersion, active: ModelVersion | None) -> tuple[bool, str]:
    """Activate the new version when its validation is not worse than the active one's beyond the tolerance
    (`rules.model_gate`); record the decision in its metrics either way. Return (activated, why)."""
    ok, reason = rules.model_gate((version.metrics or {}).get("validation"),
                                  (active.metrics or {}).get("validation") if active is not None else None)
    version.metrics = {**(version.metrics or {}), "gate": {"activated": ok, "reason": reason,
                                                          "against": active.name if active is not None else ""}}
    version.save(update_fields=["metrics"])
    if ok:
        model_activate(version=version)
    return ok, reason


def artifacts_prune(keep_inactive: int = rules.MODEL_KEEP_INACTIVE) -> list[str]:
    """Remove the artifact folders of inactive versions beyond the newest keep_inactive; return their names.

    The rows stay (the dashboard's history of versions and their metrics), with the path emptied: a pruned
    version can no longer be activated. The active version is never pruned.
    """
    stale = (ModelVersion.objects.filter(is_active=False).exclude(path="")
             .order_by("-created_at", "-pk")[keep_inactive:])
    removed = []
    for version in list(stale):
        shutil.rmtree(version.path, ignore_errors=True)
        ModelVersion.objects.filter(pk=version.pk, is_active=False).update(path="")
        removed.append(version.name)
    return removed


def lock_progress(name: str) -> Callable[[str, float], None]:
    """Return a progress callback that shows a job's stage and fraction on its lock row (seen in the admin)."""
    from recommender.models import JobLock

    def report(stage: str, fraction: float) -> None:
        JobLock.objects.filter(name=name).update(progress={
            "stage": stage[:80], "fraction": round(max(0.0, min(1.0, float(fraction))), 3),
            "at": timezone.now().isoformat()})

    return report


EncoderExample = tuple[list[dict], list[str]]
# Other apps add encoder examples from their own records: the chat app registers the product's own conversations
# (chat.selectors.chat_encoder_examples, in ChatConfig.ready), which this layer does not read itself.
ENCODER_SOURCES: list[Callable[[], list[EncoderExample]]] = []


def encoder_dialogues() -> list[EncoderExample]:
    """Return (the messages before a suggestion, the item ids suggested) for the text encoder's training: every
    suggestion turn of the stored training dialogues (never the development split), then the product's chats."""
    from recommender.engine.dialogues import suggestion_turns
    from recommender.services.dialogues import stored_dialogues

    out = [(t.messages, t.suggested) for dialogue, links in stored_dialogues()
           for t in suggestion_turns(dialogue, links)]
    return out + [example for source in ENCODER_SOURCES for example in source()]
