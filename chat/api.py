"""REST API v1: recommend over a message list, record feedback, search and read catalog items.

Every failure is answered as {"error": {"code", "message"}} with a 4xx status.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, parsers, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from chat import services
from chat.frames import TurnResult
from chat.throttles import AnonThrottle, UserThrottle
from common.safejson import UnsafeJSON, loads_untrusted
from recommender import selectors as serving
from recommender.engine import rules
from recommender.engine.types import Constraints
from recommender.models import Interaction, Item
from recommender.services.profiles import profile_for_user

log = logging.getLogger(__name__)

MAX_MESSAGES = 50
MAX_PAGE_SIZE = 100
BODY_OVERHEAD = 8192
RESERVED_PARAMS = {"q", "domain", "page", "page_size", "format"}
# Attribute filters one items request may carry (each costs a pass over the catalog the first time).
MAX_FILTERS = 20


def body_limit() -> int:
    """Return the largest accepted request body, in bytes."""
    return settings.CHATREC_MAX_MESSAGE_CHARS * 4 * MAX_MESSAGES + BODY_OVERHEAD


def error_response(code: str, message: str, http_status: int) -> Response:
    """Return the API's error body."""
    return Response({"error": {"code": code, "message": message}}, status=http_status)


class Oversized(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The request is too large."


class SafeJSONParser(parsers.JSONParser):
    """JSON bodies through the untrusted-input decoder: bounded nesting, finite numbers, valid strings."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return loads_untrusted(stream.read() if stream is not None else b"")
        except UnsafeJSON as exc:
            raise exceptions.ParseError(f"JSON parse error: {exc}") from None


class ErrorDetailOut(serializers.Serializer):
    code = serializers.CharField(help_text="A stable machine-readable code, e.g. invalid, not_found, throttled.")
    message = serializers.CharField(help_text="A sentence for people.")


class ErrorOut(serializers.Serializer):
    error = ErrorDetailOut()


def error_responses(*statuses: int) -> dict:
    """Return the schema's error responses for these statuses (every one has the ErrorOut body)."""
    return {code: ErrorOut for code in statuses}


COMMON_ERRORS = (400, 404, 406, 408, 413, 429)
BODY_ERRORS = (*COMMON_ERRORS, 415)  # operations that take a JSON body


def _first_problem(detail, path: tuple[str, ...] = ()) -> tuple[str, str]:
    """Return (dotted field path, message) of the first leaf in a DRF error detail, however nested."""
    while True:
        if isinstance(detail, dict):
            if not detail:
                return ".".join(path), ""
            key, detail = next(iter(detail.items()))
            if key != "non_field_errors":
                path = (*path, str(key))
        elif isinstance(detail, list):
            if not detail:
                return ".".join(path), ""
            detail = detail[0]
        else:
            return ".".join(path), str(detail)


def api_exception_handler(exc, context):
    """Return every API failure in the error body shape (throttling 429, size 413, validation 400...)."""
    if isinstance(exc, RequestDataTooBig):
        exc = Oversized()
    if isinstance(exc, SuspiciousOperation):  # too many fields, a malformed header or cookie
        log.warning("refused a suspicious request: %s", exc.__class__.__name__)
        return error_response("invalid", "The request is malformed or has too many parameters.", 400)
    if isinstance(exc, Http404):
        return error_response("not_found", "Not found.", 404)
    if isinstance(exc, PermissionDenied):
        return error_response("permission_denied", "You may not do that.", 403)
    if isinstance(exc, DjangoValidationError):
        return error_response("invalid", " ".join(exc.messages), 400)
    if isinstance(exc, exceptions.Throttled):
        response = error_response("throttled", "Too many requests; slow down.", 429)
        if exc.wait:
            response["Retry-After"] = str(int(exc.wait) + 1)
        return response
    if isinstance(exc, exceptions.APIException):
        field, problem = _first_problem(exc.detail)
        message = problem or str(exc.default_detail)
        if field:
            message = f"{field}: {message}"
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "invalid"
        return error_response(code, message, exc.status_code)
    log.exception("unexpected API error")
    return error_response("internal", "Something went wrong on our side.", 500)


class ApiView(APIView):
    """Base: throttled per client (anonymous) or per user (token), errors in one shape, size limit."""

    throttle_classes = [AnonThrottle, UserThrottle]
    parser_classes = [SafeJSONParser]  # untrusted JSON: bounded nesting, finite numbers (common/safejson.py)

    def get_exception_handler(self):
        return api_exception_handler

    def initial(self, request, *args, **kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > body_limit():
            raise Oversized()
        super().initial(request, *args, **kwargs)


def _profile(request):
    """Return the caller's profile: the token's (or session's) user, else None."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return profile_for_user(user=user)
    return None


# ---------------------------------------------------------------- recommend


class MessageIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=["user", "assistant"],
                                   error_messages={"invalid_choice": "Must be 'user' or 'assistant'."})
    # Not blank and at most CHATREC_MAX_MESSAGE_CHARS: checked by the turn's one request validator.
    content = serializers.CharField(allow_blank=True, trim_whitespace=False)
    item_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=rules.MAX_K,
        help_text="On an assistant message: the ids of the items it showed (from an earlier answer). Without "
                  "them, the titles named in its content are linked to the catalog.")


class RecommendIn(serializers.Serializer):
    messages = MessageIn(many=True, allow_empty=False)
    k = serializers.IntegerField(default=rules.DEFAULT_K, help_text=f"How many items, 1 to {rules.MAX_K}.")

    def validate_messages(self, value):
        if len(value) > MAX_MESSAGES:
            raise serializers.ValidationError(f"At most {MAX_MESSAGES} messages.")
        return value


class ItemOut(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    title = serializers.CharField()
    domain = serializers.CharField()
    score = serializers.FloatField()
    attributes = serializers.DictField()
    image_url = serializers.CharField()
    explanation = serializers.CharField()


class RecommendOut(serializers.Serializer):
    intent = serializers.ChoiceField(choices=list(rules.INTENTS))
    reply = serializers.CharField()
    items = ItemOut(many=True)
    understanding = serializers.DictField()


ITEM_FIELDS = tuple(ItemOut().fields)


def recommend_body(result: TurnResult) -> dict:
    """Return the API's answer for a collected turn: the documented fields only."""
    return {"intent": result.intent, "reply": result.reply,
            "items": [{name: card[name] for name in ITEM_FIELDS} for card in result.items],
            "understanding": result.understanding}


def turn_error_response(exc: services.TurnError) -> Response:
    """Return a refused turn in the error shape: 413 for an over-long message, else 400 naming the field.

    The API's codes stay its own: a bad field is "invalid", as for every other validation failure.
    """
    if exc.code == "message_too_long":
        return error_response(exc.code, exc.message, 413)
    field = {"text": "messages", "k": "k"}.get(exc.field, exc.field)
    code = "invalid" if exc.code in ("bad_field", "empty_message") else exc.code
    return error_response(code, f"{field}: {exc.message}" if field else exc.message, 400)


class RecommendView(ApiView):
    @extend_schema(operation_id="recommend", request=RecommendIn,
                   responses={200: RecommendOut, **error_responses(*BODY_ERRORS)},
                   summary="Recommend from a conversation",
                   description="Stateless: earlier user messages set the context, the last user message is "
                               "answered. With a token, the user's stored feedback personalises the ranking.")
    def post(self, request):
        raw = request.data
        if not isinstance(raw, dict):
            return error_response("invalid", "The body must be a JSON object.", 400)
        data = RecommendIn(data=raw)
        data.is_valid(raise_exception=True)
        try:
            result = services.recommend_from_messages(messages=data.validated_data["messages"],
                                                      profile=_profile(request), k=data.validated_data["k"])
        except services.TurnError as exc:
            return turn_error_response(exc)
        return Response(recommend_body(result))


# ---------------------------------------------------------------- feedback


class FeedbackIn(serializers.Serializer):
    item = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    kind = serializers.ChoiceField(choices=rules.FEEDBACK_KINDS)
    value = serializers.FloatField(required=False, allow_null=True, min_value=-rules.FEEDBACK_VALUE_LIMIT,
                                   max_value=rules.FEEDBACK_VALUE_LIMIT)
    key = serializers.CharField(required=False, allow_blank=False, max_length=rules.FEEDBACK_KEY_CHARS,
                                help_text="Client idempotency key: a repeated key records the event once.")


class FeedbackOut(serializers.Serializer):
    id = serializers.IntegerField()
    item = serializers.IntegerField()
    kind = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    created = serializers.BooleanField()


class FeedbackView(ApiView):
    @extend_schema(operation_id="feedback_create", request=FeedbackIn,
                   responses={201: FeedbackOut, 200: FeedbackOut, **error_responses(401, *BODY_ERRORS)},
                   summary="Record feedback",
                   description="Needs a token (or a signed-in session). 201 when stored, 200 when the key was seen.")
    def post(self, request):
        profile = _profile(request)
        if profile is None:
            return error_response("not_authenticated", "Send 'Authorization: Token <key>' to record feedback.", 401)
        if not isinstance(request.data, dict):
            return error_response("invalid", "The body must be a JSON object.", 400)
        body = request.data
        try:  # the shared check (FeedbackIn documents the same body in the schema)
            item, kind, value, key = services.feedback_check(body.get("item"), body.get("kind"), body.get("value"),
                                                             body.get("key"))
        except services.TurnError as exc:
            return error_response("invalid", f"{exc.field}: {exc.message}", 400)
        if not Item.objects.filter(pk=item).exists():
            return error_response("not_found", f"Unknown item {item}.", 404)
        event, created = services.feedback_record(profile=profile, item_id=item, kind=kind, value=value,
                                                  client_key=key, origin=Interaction.Origin.API)
        body = {"id": event.pk, "item": event.item_id, "kind": event.kind, "value": event.value, "created": created}
        return Response(body, status=201 if created else 200)


# ---------------------------------------------------------------- items


def item_json(item: Item) -> dict:
    """Return an item's public fields."""
    return {"id": item.pk, "external_id": item.external_id, "source": item.source, "domain": item.domain,
            "title": item.title, "description": item.description, "aliases": item.aliases,
            "attributes": item.attributes, "image_url": item.image_url}


def _number(raw: str, name: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise exceptions.ValidationError({name: ["Must be a number."]}) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise exceptions.ValidationError({name: ["Must be a finite number."]})
    return value


def _positive_int(raw: str | None, name: str, default: int, maximum: int | None = None) -> int:
    if raw in (None, ""):
        return default
    # Ten digits at most: int() of thousands of digits is refused by Python itself (and slow before that).
    if (not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) < 1
            or (maximum is not None and int(raw) > maximum)):
        bound = f" up to {maximum}" if maximum else ""
        raise exceptions.ValidationError({name: [f"Must be a whole number from 1{bound}."]})
    return int(raw)


def _unknown_filter(name: str, known: frozenset[str]) -> exceptions.ValidationError:
    shown = ", ".join(sorted(known)[:20]) or "none"
    return exceptions.ValidationError({name[:64]: [f"No item has this attribute; the catalog's attributes: {shown}."]})


def constraints_from_query(params, known: frozenset[str]) -> Constraints:
    """Return exact filters from query parameters: attr=value (repeatable), attr_min / attr_max, domain.

    Only attributes some item carries (`known`) may be filtered on, at most MAX_FILTERS of them: any other
    name is refused, so a request cannot make the catalog build (and keep) masks for invented names.
    """
    constraints = Constraints()
    filters = [name for name in params if name not in RESERVED_PARAMS]
    if len(filters) > MAX_FILTERS:
        raise exceptions.ValidationError({"filters": [f"At most {MAX_FILTERS} attribute filters per request."]})
    for name in filters:
        if name in known:
            constraints.include[name] = [v[:200] for v in params.getlist(name)]
        elif (name.endswith("_min") or name.endswith("_max")) and name[:-4] in known:
            attr = name[:-4]
            low, high = constraints.ranges.get(attr, (None, None))
            value = _number(params[name], name)
            constraints.ranges[attr] = (value, high) if name.endswith("_min") else (low, value)
        else:
            raise _unknown_filter(name, known)
    if params.get("domain"):
        constraints.domain = params["domain"][:64]
    return constraints


class ItemListView(ApiView):
    @extend_schema(
        operation_id="items_list",
        summary="Search and filter catalog items",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Words in the title, aliases or description."),
            OpenApiParameter("domain", OpenApiTypes.STR, description="movie, product, book, music, game..."),
            OpenApiParameter("page", OpenApiTypes.INT), OpenApiParameter("page_size", OpenApiTypes.INT),
            OpenApiParameter("<attribute>", OpenApiTypes.STR, description="Exact attribute match, e.g. genres=Comedy"),
            OpenApiParameter("<attribute>_min", OpenApiTypes.NUMBER, description="e.g. year_min=1990"),
            OpenApiParameter("<attribute>_max", OpenApiTypes.NUMBER, description="e.g. price_max=50"),
        ],
        responses={200: inline_serializer("ItemPage", {
            "count": serializers.IntegerField(), "page": serializers.IntegerField(),
            "page_size": serializers.IntegerField(), "results": serializers.ListField(child=serializers.DictField()),
        }), **error_responses(*COMMON_ERRORS)},
    )
    def get(self, request):
        params = request.query_params
        page = _positive_int(params.get("page"), "page", 1)
        page_size = _positive_int(params.get("page_size"), "page_size", 20, MAX_PAGE_SIZE)
        catalog = serving.serving_catalog()
        constraints = constraints_from_query(params, catalog.constraints.attribute_names)
        records = catalog.records
        ids = catalog.satisfying(constraints, list(records))
        query = (params.get("q") or "").strip().casefold()[:200]
        if query:
            words = query.split()
            ids = [i for i in ids if all(w in records[i].text().casefold() for w in words)]
        paginator = Paginator(ids, page_size)
        if page > max(paginator.num_pages, 1):
            return error_response("not_found", f"Page {page} is past the last page.", 404)
        chunk = [int(i) for i in paginator.page(page).object_list] if ids else []
        items = {i.pk: i for i in Item.objects.filter(pk__in=chunk)}
        results = [item_json(items[i]) for i in chunk if i in items]
        return Response({"count": paginator.count, "page": page, "page_size": page_size, "results": results})


class ItemDetailView(ApiView):
    @extend_schema(operation_id="items_detail", summary="One catalog item",
                   responses={200: OpenApiTypes.OBJECT, **error_responses(*COMMON_ERRORS)})
    def get(self, request, item_id: int):
        item = Item.objects.filter(pk=item_id).first()
        if item is None:
            return error_response("not_found", f"Unknown item {item_id}.", 404)
        return Response(item_json(item))
