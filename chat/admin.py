"""Conversation browsing for operators: every turn with what was understood and shown."""
from django.contrib import admin

from chat.models import Conversation, Message


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ("created_at", "role", "text", "payload")
    readonly_fields = ("created_at", "role", "text", "payload")
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
    list_display = ("created_at", "conversation", "role", "text")
    list_filter = ("role",)
    search_fields = ("text",)
    raw_id_fields = ("conversation",)
