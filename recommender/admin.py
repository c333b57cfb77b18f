"""The catalog dashboard: items, profiles, feedback events, model versions, bandit arms."""
from __future__ import annotations

import json

from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html

from recommender.engine.data import ML100K_GENRES
from recommender.models import (
    BanditArm,
    DialogueLog,
    DialogueMention,
    Interaction,
    Item,
    JobLock,
    ModelVersion,
    Profile,
    Relation,
    ShownList,
    SocialSettings,
)


class AttributeKeyFilter(admin.SimpleListFilter):
    """Filter items by the attributes they carry (genres, year, price, color...)."""

    title = "attribute"
    parameter_name = "has_attribute"
    KEYS = ("genres", "year", "category", "color", "season", "price", "brand", "material")

    def lookups(self, request, model_admin):
        return [(key, key) for key in self.KEYS]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(attributes__has_key=self.value())
        return queryset


class GenreFilter(admin.SimpleListFilter):
    """Filter items by one genre or category value."""

    title = "genre / category"
    parameter_name = "genre"
    VALUES = tuple(g for g in ML100K_GENRES if g != "unknown")

    def lookups(self, request, model_admin):
        return [(value, value) for value in self.VALUES]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        # JSON list containment is not portable across SQLite and PostgreSQL; match the serialised token.
        return queryset.filter(attributes__genres__icontains=json.dumps(value)[1:-1])


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("title", "domain", "source", "external_id", "key_attributes", "updated_at")
    list_filter = ("domain", "source", AttributeKeyFilter, GenreFilter)
    search_fields = ("title", "external_id", "description", "aliases")
    readonly_fields = ("created_at", "updated_at", "cover")
    fieldsets = (
        (None, {"fields": ("title", "domain", "source", "external_id")}),
        ("Content", {"fields": ("description", "aliases", "attributes", "image_url", "cover")}),
        ("Timestamps", {"fields": ("created_at", "updated_at")}),
    )
    list_per_page = 50

    @admin.display(description="attributes")
    def key_attributes(self, obj: Item) -> str:
        parts = []
        for key, value in list(obj.attributes.items())[:4]:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            parts.append(f"{key}: {shown}")
        return "; ".join(parts)

    @admin.display(description="image")
    def cover(self, obj: Item):
        if not obj.image_url:
            return "—"
        return format_html('<img src="{}" style="max-height:120px" alt="">', obj.image_url)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("__str__", "kind", "language", "source", "external_id", "created_at")
    list_filter = ("kind", "language", "source")
    search_fields = ("external_id", "user__username", "session_key")
    raw_id_fields = ("user",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "profile", "kind", "value", "item", "origin")
    list_filter = ("kind", "origin", "item__domain")
    search_fields = ("item__title", "profile__external_id", "profile__user__username", "idempotency_key")
    raw_id_fields = ("profile", "item", "conversation")
    date_hierarchy = "occurred_at"
    list_select_related = ("profile", "profile__user", "item")
    show_full_result_count = False  # counting 100k+ rows on every page load is slow on SQLite


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active", "n_users", "n_items", "n_interactions", "training_seconds", "created_at")
    list_filter = ("is_active",)
    readonly_fields = ("created_at",)


@admin.register(BanditArm)
class BanditArmAdmin(admin.ModelAdmin):
    list_display = ("policy", "arm", "successes", "failures", "pulls", "updated_at")


def item_counts_by_domain() -> dict[str, int]:
    """Return how many items each domain holds (for the dashboard)."""
    return dict(Item.objects.values_list("domain").annotate(n=Count("id")).values_list("domain", "n"))


class DialogueMentionInline(admin.TabularInline):
    model = DialogueMention
    fields = ("turn_index", "role", "name", "item", "suggested", "seen", "liked")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(DialogueLog)
class DialogueLogAdmin(admin.ModelAdmin):
    list_display = ("conversation_id", "source", "is_development", "created_at")
    list_filter = ("source", "is_development")
    search_fields = ("conversation_id",)
    readonly_fields = ("created_at",)
    inlines = [DialogueMentionInline]


@admin.register(DialogueMention)
class DialogueMentionAdmin(admin.ModelAdmin):
    list_display = ("name", "item", "role", "turn_index", "liked", "dialogue")
    list_filter = ("role", "liked", "dialogue__source")
    search_fields = ("name", "source_key")
    raw_id_fields = ("dialogue", "item")


@admin.register(JobLock)
class JobLockAdmin(admin.ModelAdmin):
    """Running jobs (retraining): who holds the lock, until when, and the stage the job reports."""

    list_display = ("name", "holder", "claimed_at", "expires_at", "stage", "done")
    readonly_fields = ("name", "holder", "claimed_at", "expires_at", "progress")

    @admin.display(description="stage")
    def stage(self, obj: JobLock) -> str:
        return (obj.progress or {}).get("stage", "")

    @admin.display(description="done")
    def done(self, obj: JobLock) -> str:
        fraction = (obj.progress or {}).get("fraction")
        return f"{100 * fraction:.0f} %" if isinstance(fraction, (int, float)) else ""


@admin.register(ShownList)
class ShownListAdmin(admin.ModelAdmin):
    """Lists shown with the policy's choice: arm, propensity, context (read-only: they are the evaluation logs)."""

    list_display = ("created_at", "arm", "propensity", "forced", "profile", "conversation")
    list_filter = ("arm", "forced")
    readonly_fields = ("policy", "arm", "propensity", "probabilities", "context", "items", "forced", "profile",
                       "conversation", "message_id")


@admin.register(Relation)
class RelationAdmin(admin.ModelAdmin):
    list_display = ("profile", "kind", "other", "weight", "source", "occurred_at")
    list_filter = ("kind", "source")
    search_fields = ("profile__external_id", "profile__user__username", "other__external_id", "other__user__username")
    raw_id_fields = ("profile", "other")
    list_select_related = ("profile", "profile__user", "other", "other__user")
    show_full_result_count = False


@admin.register(SocialSettings)
class SocialSettingsAdmin(admin.ModelAdmin):
    list_display = ("profile", "discoverable", "display_name", "updated_at")
    list_filter = ("discoverable",)
    search_fields = ("display_name", "profile__external_id", "profile__user__username")
    raw_id_fields = ("profile",)
