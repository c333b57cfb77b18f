from django.apps import AppConfig


class ChatConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "chat"
    verbose_name = "Conversations"

    def ready(self) -> None:
        # The co-mention model also learns from the product's own chats; the recommender app reads them through
        # this registration, never by importing chat.
        from chat.selectors import chat_encoder_examples, chat_pairs
        from recommender.services.dialogues import PAIR_SOURCES
        from recommender.services.training import ENCODER_SOURCES

        if chat_pairs not in PAIR_SOURCES:
            PAIR_SOURCES.append(chat_pairs)
        if chat_encoder_examples not in ENCODER_SOURCES:  # and the text encoder from liked suggestions in them
            ENCODER_SOURCES.append(chat_encoder_examples)
