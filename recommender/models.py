"""Catalog items, people (profiles), typed feedback events, trained model versions, bandit state and shown lists."""
from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from recommender.engine import rules


class UnicodeJSONEncoder(DjangoJSONEncoder):
    """Store non-ASCII text as itself, so searches for Chinese aliases match on SQLite too."""

    def __init__(self, *args, **kwargs):
        kwargs["ensure_ascii"] = False
        super().__init__(*args, **kwargs)


class Item(models.Model):
    """One thing that can be recommended: a film, a product, an album, a game..."""

    source = models.CharField(max_length=64, default="catalog", help_text="Where the item came from, e.g. ml-100k.")
    external_id = models.CharField(max_length=128, help_text="The id the source uses; unique per source.")
    domain = models.CharField(max_length=32, default="movie", db_index=True)
    title = models.CharField(max_length=512, db_index=True)
    description = models.TextField(blank=True, default="")
    aliases = models.JSONField(default=list, blank=True, encoder=UnicodeJSONEncoder, help_text="Other names, e.g. the Chinese title.")
    attributes = models.JSONField(default=dict, blank=True, encoder=UnicodeJSONEncoder, help_text="Structured facts: genres, year, price, color...")
    image_url = models.URLField(max_length=1024, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="item_unique_per_source")]
        indexes = [models.Index(fields=["domain", "title"])]
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title


class Profile(models.Model):
    """A person who interacts: a registered user, a chat guest, or a user from imported logs."""

    class Kind(models.TextChoices):
        REGISTERED = "registered", "Registered user"
        GUEST = "guest", "Guest (browser session)"
        IMPORTED = "imported", "Imported from logs"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.IMPORTED)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="chatrec_profile"
    )
    session_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # A guest's client address as a keyed hash (chat.guests.address_key): guests from one address share one
    # reward budget in the bandit. Empty for other profiles.
    address_key = models.CharField(max_length=32, blank=True, default="", db_index=True)
    source = models.CharField(max_length=64, blank=True, default="")
    external_id = models.CharField(max_length=128, blank=True, default="")
    language = models.CharField(max_length=16, default="en")
    demographics = models.JSONField(default=dict, blank=True)
    preferences = models.JSONField(default=dict, blank=True, encoder=UnicodeJSONEncoder, help_text="Stated preferences, e.g. liked genres.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=Q(kind="imported"),
                name="imported_profile_unique_per_source",
            )
        ]

    def __str__(self) -> str:
        if self.user_id:
            return f"{self.user}"
        if self.kind == self.Kind.GUEST:
            return f"guest {self.pk}"
        return f"{self.source}:{self.external_id}"


def stated_in_chat() -> Q:
    """Return the filter of events read from chat words (rules.STATED_VIA), which stay with their conversation.

    The key test comes first: on a row without "via" the comparison alone is NULL, and exclude() would drop it.
    """
    return Q(context__has_key="via") & Q(context__via=rules.STATED_VIA)


class Interaction(models.Model):
    """One typed feedback event: who did what to which item, when, and where it came from."""

    class Kind(models.TextChoices):
        RATING = "rating", "Rating"
        CLICK = "click", "Click"
        LIKE = "like", "Like"
        DISLIKE = "dislike", "Dislike"
        FAVOURITE = "favourite", "Favourite"
        PURCHASE = "purchase", "Purchase"
        VIEW = "view", "View"
        # Taking a press back (rules.RETRACTION_KINDS): graded SEEN, so the retracted press stops counting.
        UNLIKE = "unlike", "Like taken back"
        UNDISLIKE = "undislike", "Dislike taken back"
        UNFAVOURITE = "unfavourite", "Favourite taken back"

    class Origin(models.TextChoices):
        IMPORT = "import", "Import"
        CHAT = "chat", "Chat turn"
        API = "api", "API"

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="interactions")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="interactions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.FloatField(null=True, blank=True, help_text="Rating value; empty for other kinds.")
    occurred_at = models.DateTimeField(db_index=True)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.API)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    conversation = models.ForeignKey(
        "chat.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions"
    )
    context = models.JSONField(default=dict, blank=True, help_text="E.g. the recommendation strategy shown.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["profile", "item"]), models.Index(fields=["kind", "occurred_at"])]
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        value = f" {self.value:g}" if self.value is not None else ""
        return f"{self.profile} {self.kind}{value} {self.item}"


class ModelVersion(models.Model):
    """A trained artifact on disk; at most one is active and serving."""

    name = models.CharField(max_length=128)
    path = models.CharField(max_length=1024)
    is_active = models.BooleanField(default=False)
    metrics = models.JSONField(default=dict, blank=True)
    config = models.JSONField(default=dict, blank=True)
    n_users = models.PositiveIntegerField(default=0)
    n_items = models.PositiveIntegerField(default=0)
    n_interactions = models.PositiveIntegerField(default=0)
    training_seconds = models.FloatField(default=0.0)
    data_through_event_id = models.BigIntegerField(
        default=0, help_text="Newest feedback event (Interaction id) the training data included; later ones are new.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="one_active_model")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name}{' (active)' if self.is_active else ''}"


class JobLock(models.Model):
    """A named lock for a job that must run once at a time across workers (claimed by a conditional UPDATE).

    A holder that dies leaves the lock to expire at `expires_at`; nothing waits on a database row lock.
    """

    name = models.CharField(max_length=64, unique=True)
    holder = models.CharField(max_length=64, blank=True, default="", help_text="Empty when free.")
    claimed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # What the holder reports while it runs ({"stage", "fraction", "at"}), shown in the admin.
    progress = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({'held by ' + self.holder if self.holder else 'free'})"


class BanditArm(models.Model):
    """Beta-Bernoulli statistics for one ranking strategy, updated from feedback."""

    policy = models.CharField(max_length=64, default="ranking-strategy")
    arm = models.CharField(max_length=64)
    successes = models.FloatField(default=1.0)
    failures = models.FloatField(default=1.0)
    pulls = models.PositiveIntegerField(default=0)
    last_event_id = models.BigIntegerField(default=0, help_text="Newest interaction already counted.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["policy", "arm"], name="bandit_arm_unique")]

    def __str__(self) -> str:
        return f"{self.policy}/{self.arm}"


class ShownList(models.Model):
    """One list shown to a person with the policy's choice: the arm, its probability and the turn's context.

    What off-policy evaluation (IPS, SNIPS, DR) and the feedback export read. A list the policy did not choose
    (the person asked for a different selection) is `forced`, with propensity 1, and stays out of evaluation.
    """

    policy = models.CharField(max_length=64, default="ranking-strategy")
    arm = models.CharField(max_length=64)
    propensity = models.FloatField(help_text="The arm's probability under the policy when it was chosen.")
    probabilities = models.JSONField(default=dict, blank=True, help_text="Every arm's probability then.")
    context = models.JSONField(default=dict, blank=True, encoder=UnicodeJSONEncoder,
                               help_text="The turn's features as logged (contextual.context_vector reads them).")
    items = models.JSONField(default=list, blank=True, help_text="The item ids shown, in order.")
    forced = models.BooleanField(default=False)
    profile = models.ForeignKey(Profile, null=True, blank=True, on_delete=models.CASCADE, related_name="shown_lists")
    conversation = models.ForeignKey("chat.Conversation", null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="shown_lists")
    message_id = models.BigIntegerField(null=True, blank=True, db_index=True, help_text="The assistant message.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.arm} p={self.propensity:.3f}"


class PolicyState(models.Model):
    """The contextual policy's model (contextual.LinearThompson.to_state) and how far it has read the logs."""

    policy = models.CharField(max_length=64, unique=True)
    state = models.JSONField(default=dict, blank=True)
    lists_through = models.BigIntegerField(default=0, help_text="Newest ShownList already folded in.")
    events_through = models.BigIntegerField(default=0, help_text="Newest Interaction already folded in.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.policy


class DialogueLog(models.Model):
    """A recorded recommendation dialogue imported from a file (e.g. ReDial); one per (source, conversation id)."""

    source = models.CharField(max_length=64, help_text="Where the dialogues came from, e.g. redial.")
    conversation_id = models.CharField(max_length=128, help_text="The id the source uses; unique per source.")
    turns = models.JSONField(default=list, encoder=UnicodeJSONEncoder,
                             help_text="[{role, text, mentions}] with movie names written out.")
    is_development = models.BooleanField(default=False, help_text="Held out for evaluation; never trained on.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "conversation_id"], name="dialogue_unique_per_source")]
        ordering = ["source", "conversation_id"]

    def __str__(self) -> str:
        return f"{self.source}/{self.conversation_id}"


class DialogueMention(models.Model):
    """One movie (or other item) named in a recorded dialogue, linked to the catalog when it could be."""

    class Role(models.TextChoices):
        USER = "user", "seeker"
        ASSISTANT = "assistant", "recommender"

    dialogue = models.ForeignKey(DialogueLog, on_delete=models.CASCADE, related_name="mentions")
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.SET_NULL, related_name="dialogue_mentions")
    source_key = models.CharField(max_length=128, help_text="The item's key in the source (ReDial movie id).")
    name = models.CharField(max_length=512, help_text="The name the source gives, e.g. 'The Dark Knight (2008)'.")
    role = models.CharField(max_length=16, choices=Role.choices)
    turn_index = models.PositiveIntegerField(help_text="The turn that first names it.")
    suggested = models.BooleanField(null=True, blank=True, help_text="The seeker says the recommender suggested it.")
    seen = models.BooleanField(null=True, blank=True, help_text="The seeker has seen it.")
    liked = models.BooleanField(null=True, blank=True, help_text="The seeker liked it.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dialogue", "source_key"], name="mention_unique_per_dialogue")]
        ordering = ["dialogue", "turn_index"]

    def __str__(self) -> str:
        return f"{self.dialogue} #{self.turn_index} {self.name}"


class Relation(models.Model):
    """One directed social tie between two people: a friendship, a follow or a trust link.

    A friendship counts both ways (rules.SYMMETRIC_RELATIONS); follows and trust only from `profile` to `other`.
    What a tie lets `profile` see of `other` depends on `other`'s SocialSettings, never on the tie alone.
    """

    class Kind(models.TextChoices):
        FRIEND = "friend", "Friend"
        FOLLOWS = "follows", "Follows"
        TRUSTS = "trusts", "Trusts"

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="relations")
    other = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="related_by")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.FRIEND)
    weight = models.FloatField(default=1.0, help_text="Strength of the tie, from 0 (none) to 1 (full).")
    source = models.CharField(max_length=64, blank=True, default="", help_text="Where it came from, e.g. filmtrust.")
    occurred_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["profile", "other", "kind"], name="relation_unique_per_kind"),
            models.CheckConstraint(condition=~Q(profile=models.F("other")), name="relation_not_to_self"),
        ]
        ordering = ["profile", "kind", "other"]

    def __str__(self) -> str:
        return f"{self.profile} {self.kind} {self.other}"


class SocialSettings(models.Model):
    """What a person lets others see: whether they are discoverable, and the name shown to their connections.

    A discoverable person's likes may be read by the people connected to them (to recommend and to explain
    "your friend Lea liked it"), and they may be suggested as someone with similar taste. Nobody is
    discoverable until they choose to be; without a row nothing is shown.
    """

    profile = models.OneToOneField(Profile, on_delete=models.CASCADE, related_name="social")
    discoverable = models.BooleanField(default=False)
    display_name = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.profile} ({'discoverable' if self.discoverable else 'private'})"
