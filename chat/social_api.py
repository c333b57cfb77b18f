"""REST API v1: the caller's own connections and privacy choice (a token or a signed-in session)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from chat.api import BODY_ERRORS, COMMON_ERRORS, ApiView, _profile, error_response, error_responses
from chat.social_selectors import connections_list, my_social_data
from chat.social_views import profile_by_username
from recommender.engine import rules
from recommender.services.relations import relation_add, relation_remove, social_settings_update

NOT_SIGNED_IN = "Send 'Authorization: Token <key>' (or sign in) to see or change your connections."


class ConnectionOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=list(rules.RELATION_KINDS))
    weight = serializers.FloatField()
    own = serializers.BooleanField(help_text="The caller made this tie and may remove it.")
    shares_likes = serializers.BooleanField(help_text="The other person is discoverable.")


class ConnectionsOut(serializers.Serializer):
    discoverable = serializers.BooleanField()
    display_name = serializers.CharField(allow_blank=True)
    connections = ConnectionOut(many=True)


class ConnectionIn(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    kind = serializers.ChoiceField(choices=list(rules.RELATION_KINDS), default="friend")
    weight = serializers.FloatField(default=1.0, min_value=0.0, max_value=1.0)


class SettingsIn(serializers.Serializer):
    discoverable = serializers.BooleanField(required=False)
    display_name = serializers.CharField(required=False, allow_blank=True, max_length=64)


def _body(profile) -> dict:
    data = my_social_data(profile=profile)
    data["connections"] = connections_list(profile=profile)
    return data


class ConnectionsView(ApiView):
    @extend_schema(
        operation_id="connections_list",
        responses={200: ConnectionsOut, **error_responses(401, *COMMON_ERRORS)},
        summary="My connections",
        description="The caller's ties and whether they are discoverable.",
    )
    def get(self, request):
        profile = _profile(request)
        if profile is None:
            return error_response("not_authenticated", NOT_SIGNED_IN, 401)
        return Response(_body(profile))

    @extend_schema(
        operation_id="connections_add",
        request=ConnectionIn,
        responses={201: ConnectionsOut, **error_responses(401, *BODY_ERRORS)},
        summary="Add a connection",
    )
    def post(self, request):
        profile = _profile(request)
        if profile is None:
            return error_response("not_authenticated", NOT_SIGNED_IN, 401)
        if not isinstance(request.data, dict):
            return error_response("invalid", "The body must be a JSON object.", 400)
        data = ConnectionIn(data=request.data)
        data.is_valid(raise_exception=True)
        other = profile_by_username(data.validated_data["username"])
        if other is None:
            return error_response("not_found", "No person with that user name.", 404)
        try:
            relation_add(
                profile=profile, other=other, kind=data.validated_data["kind"], weight=data.validated_data["weight"]
            )
        except DjangoValidationError as exc:
            return error_response("invalid", " ".join(exc.messages), 400)
        return Response(_body(profile), status=201)


class ConnectionView(ApiView):
    @extend_schema(
        operation_id="connections_remove",
        responses={204: None, **error_responses(401, *COMMON_ERRORS)},
        summary="Remove one of my connections",
    )
    def delete(self, request, relation_id: int):
        profile = _profile(request)
        if profile is None:
            return error_response("not_authenticated", NOT_SIGNED_IN, 401)
        if not relation_remove(profile=profile, relation_id=relation_id):
            return error_response("not_found", f"You have no connection {relation_id}.", 404)
        return Response(status=204)


class SocialSettingsView(ApiView):
    @extend_schema(
        operation_id="connections_settings",
        request=SettingsIn,
        responses={200: ConnectionsOut, **error_responses(401, *BODY_ERRORS)},
        summary="Choose what others see",
    )
    def patch(self, request):
        profile = _profile(request)
        if profile is None:
            return error_response("not_authenticated", NOT_SIGNED_IN, 401)
        if not isinstance(request.data, dict):
            return error_response("invalid", "The body must be a JSON object.", 400)
        data = SettingsIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            social_settings_update(profile=profile, **data.validated_data)
        except DjangoValidationError as exc:
            return error_response("invalid", " ".join(exc.messages), 400)
        return Response(_body(profile))
