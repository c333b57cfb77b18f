"""Conversations and their messages; assistant messages keep the items shown and why."""
from django.db import models

from recommender.models import UnicodeJSONEncoder


class Conversation(models.Model):
    profile = models.ForeignKey("recommender.Profile", on_delete=models.CASCADE, related_name="conversations")
    title = models.CharField(max_length=200, blank=True, default="")
    language = models.CharField(max_length=16, default="en")
    state = models.JSONField(default=dict, blank=True, encoder=UnicodeJSONEncoder, help_text="Accumulated understanding across turns.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.pk}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"
        SYSTEM = "system", "System"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    text = models.TextField(blank=True, default="")
    payload = models.JSONField(default=dict, blank=True, encoder=UnicodeJSONEncoder, help_text="Understanding, items, scores and evidence.")
    # Thumbs up (1) or down (-1) on a whole assistant reply; empty when not rated or taken back.
    rating = models.SmallIntegerField(null=True, blank=True, choices=[(1, "Thumbs up"), (-1, "Thumbs down")])
    rated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:60]}"
