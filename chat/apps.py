from django.apps import AppConfig


class ChatConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "chat"
    verbose_name = "Conversations"

    def ready(self) -> None:
        # The co-mention model also learns from the product's own chats; the recommender app reads them through
        # this registration, never by importing chat.
        from chat.selectors import chat_pairs
        from recommender.services.dialogues import PAIR_SOURCES

        if chat_pairs not in PAIR_SOURCES:
            PAIR_SOURCES.append(chat_pairs)
