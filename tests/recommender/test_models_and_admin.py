"""Data model rules, feedback recording, and the admin dashboard for a staff user."""
import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from chat.models import Conversation, Message
from recommender.models import Interaction, Item, ModelVersion, Profile
from recommender.services.feedback import ERROR_RATING_VALUE, interaction_record
from recommender.services.profiles import profile_for_session, profile_for_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def item():
    return Item.objects.create(source="shop", external_id="42", domain="product", title="Red scarf",
                               attributes={"category": "scarf", "color": "red", "season": ["winter"], "price": 19.5})


def test_external_id_unique_per_source(item):
    Item.objects.create(source="other", external_id="42", title="Other 42")
    with pytest.raises(IntegrityError), transaction.atomic():
        Item.objects.create(source="shop", external_id="42", title="dup")


def test_only_one_active_model_version():
    ModelVersion.objects.create(name="a", path="/x", is_active=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.create(name="b", path="/y", is_active=True)


def test_guest_and_user_profiles():
    guest = profile_for_session(session_key="abc")
    assert guest.kind == Profile.Kind.GUEST and profile_for_session(session_key="abc").pk == guest.pk
    user = User.objects.create_user("ann", password="pw-long-enough")
    profile = profile_for_user(user=user)
    assert profile.kind == Profile.Kind.REGISTERED and profile_for_user(user=user).pk == profile.pk


def test_feedback_is_stored_once_per_key(item):
    profile = profile_for_session(session_key="s1")
    first, created = interaction_record(profile=profile, item=item, kind="like", idempotency_key="k-1", origin="chat")
    again, created_again = interaction_record(profile=profile, item=item, kind="like", idempotency_key="k-1")
    assert created and not created_again and first.pk == again.pk
    assert Interaction.objects.filter(idempotency_key="k-1").count() == 1


def test_feedback_validation_keeps_store_intact(item):
    profile = profile_for_session(session_key="s2")
    interaction_record(profile=profile, item=item, kind="rating", value=4)
    with pytest.raises(ValidationError, match=ERROR_RATING_VALUE):
        interaction_record(profile=profile, item=item, kind="rating", value=11)
    with pytest.raises(ValidationError, match="Unknown feedback kind"):
        interaction_record(profile=profile, item=item, kind="teleport")
    assert list(Interaction.objects.values_list("kind", "value")) == [("rating", 4.0)]


def test_conversation_messages_keep_payload(item):
    profile = profile_for_session(session_key="s3")
    conversation = Conversation.objects.create(profile=profile, title="scarves")
    Message.objects.create(conversation=conversation, role="user", text="a red scarf")
    Message.objects.create(conversation=conversation, role="assistant", text="Here you go",
                           payload={"items": [{"id": item.pk, "score": 0.9}]})
    assert [m.role for m in conversation.messages.all()] == ["user", "assistant"]
    assert conversation.messages.last().payload["items"][0]["id"] == item.pk


@pytest.fixture
def staff_client(client):
    admin = User.objects.create_superuser("boss", "boss@example.com", "pw-long-enough")
    client.force_login(admin)
    return client


@pytest.mark.parametrize(
    "name",
    ["recommender_item", "recommender_profile", "recommender_interaction", "recommender_modelversion",
     "recommender_banditarm", "chat_conversation", "chat_message"],
)
def test_admin_changelists_render(staff_client, item, name):
    profile = profile_for_session(session_key="s4")
    interaction_record(profile=profile, item=item, kind="click")
    Conversation.objects.create(profile=profile, title="hello")
    response = staff_client.get(reverse(f"admin:{name}_changelist"))
    assert response.status_code == 200


def test_admin_item_search_filter_and_edit(staff_client, item):
    Item.objects.create(source="ml", external_id="1", domain="movie", title="Toy Story (1995)",
                        attributes={"genres": ["Animation", "Comedy"], "year": 1995})
    url = reverse("admin:recommender_item_changelist")
    found = staff_client.get(url, {"q": "scarf"}).content.decode()
    assert "Red scarf" in found and "Toy Story" not in found
    by_domain = staff_client.get(url, {"domain": "movie"}).content.decode()
    assert "Toy Story" in by_domain and "Red scarf" not in by_domain
    by_genre = staff_client.get(url, {"genre": "Animation"}).content.decode()
    assert "Toy Story" in by_genre and "Red scarf" not in by_genre
    edit = staff_client.get(reverse("admin:recommender_item_change", args=[item.pk]))
    assert edit.status_code == 200 and "Red scarf" in edit.content.decode()
    conversation_page = staff_client.get(reverse("admin:chat_conversation_add"))
    assert conversation_page.status_code == 200


def test_admin_requires_staff(client):
    response = client.get(reverse("admin:recommender_item_changelist"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_admin_shows_the_evidence_behind_a_logged_recommendation(staff_client, item):
    profile = profile_for_session(session_key="s5")
    conversation = Conversation.objects.create(profile=profile, title="scarves")
    message = Message.objects.create(
        conversation=conversation, role="assistant", text="Here you go",
        payload={"strategy": "explore", "items": [{
            "item_id": str(item.pk), "score": 0.75, "explanation": "Because you liked <b>Mittens</b>",
            "evidence": [{"kind": "liked_item", "weight": 0.6, "item_id": "9", "title": "Mittens"},
                         {"kind": "attribute_match", "weight": 0.4, "attribute": "color", "value": "red"}]}]},
    )
    page = staff_client.get(reverse("admin:chat_message_change", args=[message.pk])).content.decode()
    assert "Red scarf" in page
    assert "liked_item 60% Mittens; attribute_match 40% color=red" in page
    assert "&lt;b&gt;Mittens&lt;/b&gt;" in page  # logged text is escaped, never rendered as markup
    listing = staff_client.get(reverse("admin:chat_message_changelist")).content.decode()
    assert "explore" in listing
