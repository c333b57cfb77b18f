"""Conversation browsing for operators: every turn with what was understood, shown, and why."""
from django.contrib import admin
from django.utils.html import format_html, format_html_join

from chat.models import Conversation, Message
from recommender.models import Item


def evidence_summary(evidence: list[dict]) -> str:
    """Return one line per evidence fact: kind, share of the score, and what it is about."""
    parts = []
    for fact in evidence:
        about = fact.get("title") or fact.get("item_id") or ""
        if fact.get("attribute"):
            about = f"{fact['attribute']}={fact.get('value')}"
        share = fact.get("weight") or 0.0
        parts.append(f"{fact.get('kind')} {share:.0%} {about}".strip())
    return "; ".join(parts)


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ("created_at", "role", "text", "rating", "payload")
    readonly_fields = ("created_at", "role", "text", "rating", "payload")
    can_delete = False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("__str__", "profile", "language", "updated_at")
    list_filter = ("language",)
    search_fields = ("title", "messages__text")
    raw_id_fields = ("profile",)
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "conversation", "role", "text", "strategy", "rating")
    list_filter = ("role", "rating")
    search_fields = ("text",)
    raw_id_fields = ("conversation",)
    readonly_fields = ("recommendations",)

    @admin.display(description="strategy")
    def strategy(self, obj: Message) -> str:
        return (obj.payload or {}).get("strategy", "")

    @admin.display(description="items shown and the evidence behind each")
    def recommendations(self, obj: Message):
        entries = (obj.payload or {}).get("items") or []
        if not entries:
            return "—"
        ids = [int(e["item_id"]) for e in entries if str(e.get("item_id", "")).isdigit()]
        titles = dict(Item.objects.filter(pk__in=ids).values_list("pk", "title"))
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (rank, titles.get(int(e["item_id"]), e["item_id"]) if str(e["item_id"]).isdigit() else e["item_id"],
                 f"{float(e.get('score') or 0.0):.4f}", evidence_summary(e.get("evidence") or []), e.get("explanation", ""))
                for rank, e in enumerate(entries, start=1)
            ),
        )
        return format_html(
            "<table><thead><tr><th>#</th><th>item</th><th>score</th><th>evidence (share of score)</th>"
            "<th>explanation shown</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )
