"""The chat websocket: authenticate, validate each frame, delegate to chat.services, stream events back.

The protocol is documented in docs/protocol.md.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import TypeGuard

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.exceptions import ValidationError

from chat import guests, limits, selectors, services
from chat.workers import run_on, socket_work
from common.safejson import UnsafeJSON, loads_untrusted
from recommender.models import Interaction
from recommender.services.profiles import profile_for_user

log = logging.getLogger(__name__)

# Room for the text limit in JSON (escapes, multi-byte characters) plus the other fields.
FRAME_OVERHEAD = 4096
CLOSE_UNAUTHENTICATED = 4401
CLOSE_BAD_FRAMES = 4400
QUERY_CHARS = 200
ERRORS = {
    "bad_json": "The frame is not valid JSON.",
    "bad_frame": "A frame must be a JSON object with a string 'type'.",
    "unknown_type": "Unknown frame type '{type}'.",
    "frame_too_large": "The frame is larger than {limit} bytes.",
    "bad_field": "Field '{field}' is missing or has the wrong type.",
    "busy": "A reply is still being written; send 'stop' first or wait for 'chat.done'.",
    "not_found": "No such conversation.",
    "bad_feedback": "{detail}",
    "message_not_found": "No such message.",
    "bad_value": "{detail}",
    "internal": "Something went wrong on our side; please try again.",
}


def _is_id(value: object) -> TypeGuard[int]:
    """Return whether a frame field is an id: an int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def frame_limit() -> int:
    """Return the largest accepted frame, in bytes."""
    return settings.CHATREC_MAX_MESSAGE_CHARS * 4 + FRAME_OVERHEAD


class ChatConsumer(AsyncWebsocketConsumer):
    """One browser tab's chat connection."""

    closing = False  # set once the server closes the socket: frames still queued are then ignored
    cancel: threading.Event | None = None

    async def dispatch(self, message):
        # Channels hops to the process's one thread-sensitive thread before every frame of every socket to close
        # that thread's stale connections, queueing all sockets behind whatever runs there. This consumer's
        # database work runs on chat.workers' pools, which look after their own connections after each call.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        self.address = limits.client_address(self.scope)  # its connection was counted by SocketAddressBudget
        try:
            self.profile = await self._profile()
        except guests.TooManyGuests:
            await self._refuse_socket(limits.CLOSE_TOO_MANY_SOCKETS)
            return
        if self.profile is None:
            await self._refuse_socket(CLOSE_UNAUTHENTICATED)
            return
        self.actor = limits.actor_of(self.profile)
        if not await limits.socket_open(self.actor):
            await self._refuse_socket(limits.CLOSE_TOO_MANY_SOCKETS)
            return
        self.holds_socket_slot = True
        self.bad_frames = self.refused_frames = 0
        self.conversation = None
        self.turn_task: asyncio.Task | None = None
        self.turn_running = False
        # Every tab of one person shares a group, so a new or renamed conversation shows up in all of them.
        self.group = f"chat.profile.{self.profile.pk}"
        if self.channel_layer is not None:
            await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def _refuse_socket(self, code: int) -> None:
        # Accept first: a socket refused during the handshake reaches the browser as a bare 1006, while a
        # close after accepting carries the documented code.
        self.closing = True
        await self.accept()
        await self.close(code=code)

    @socket_work
    def _profile(self):
        """Return the signed-in user's profile, else the guest's (created within the address's guest budget)."""
        user = self.scope.get("user")
        if user is not None and getattr(user, "is_authenticated", False):
            return profile_for_user(user=user)
        key = guests.guest_key(cookies=self.scope.get("cookies") or {}, session=self.scope.get("session"))
        return guests.guest_profile(key=key, address=self.address) if key else None

    async def disconnect(self, code):
        if getattr(self, "holds_socket_slot", False):
            self.holds_socket_slot = False
            await limits.socket_close(self.actor)
        if getattr(self, "cancel", None) is not None:
            self.cancel.set()
        if getattr(self, "group", None) and self.channel_layer is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def conversation_changed(self, event):
        """Tell this tab that one of the person's conversations changed (sent through the channel layer)."""
        await self.send_frame({"type": "conversation.changed", "conversation": event.get("conversation")})

    # ------------------------------------------------------------ frames in

    async def receive(self, text_data=None, bytes_data=None):
        if self.closing:  # frames that were queued before the close: nothing more is answered
            return
        frame, problem = self._decode(text_data, bytes_data)
        # Every frame counts against the rates, a broken one too: decoding it is work the client caused.
        wait = await limits.frame_wait(self.actor, self.address, frame["type"] if frame is not None else "")
        if wait is not None:
            await self._refuse(wait)
            return
        if problem is not None:
            await self._bad_frame(*problem)
            return
        assert frame is not None
        handler = self.HANDLERS.get(frame["type"])
        if handler is None:
            await self._bad_frame("unknown_type", ERRORS["unknown_type"].format(type=frame["type"][:40]))
            return
        try:
            await handler(self, frame)
        except Exception:  # noqa: BLE001 - the connection stays usable after any failure
            log.exception("chat frame %s failed", frame["type"])
            await self.error("internal")

    @staticmethod
    def _decode(text_data, bytes_data) -> tuple[dict | None, tuple[str, str] | None]:
        """Return (the frame, None), or (None, (error code, message)) for a broken one."""
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        if len(raw.encode("utf-8", "surrogatepass")) > frame_limit():  # lone surrogates: refused when decoded
            return None, ("frame_too_large", ERRORS["frame_too_large"].format(limit=frame_limit()))
        try:
            frame = loads_untrusted(raw)  # bounded nesting, finite numbers, no lone surrogates
        except UnsafeJSON as exc:
            return None, ("bad_json", str(exc))
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            return None, ("bad_frame", ERRORS["bad_frame"])
        return frame, None

    async def _bad_frame(self, code: str, message: str) -> None:
        """Answer a broken frame; past CHATREC_WS_MAX_BAD_FRAMES of them the socket is closed."""
        self.bad_frames += 1
        await self.send_frame({"type": "chat.error", "code": code, "message": message})
        if self.bad_frames >= settings.CHATREC_WS_MAX_BAD_FRAMES:
            await self._close_for(CLOSE_BAD_FRAMES, "too many broken frames")

    async def _refuse(self, wait: float) -> None:
        """Answer a frame over a rate; a socket that goes on past CHATREC_WS_MAX_REFUSED_FRAMES is closed."""
        self.refused_frames += 1
        await self.send_frame({"type": "chat.error", "code": limits.RATE_LIMITED,
                               "message": limits.refusal_message(wait), "retry_after": round(wait, 1)})
        if self.refused_frames >= settings.CHATREC_WS_MAX_REFUSED_FRAMES:
            await self._close_for(limits.CLOSE_TOO_MANY_SOCKETS, "kept sending past the rate limit")

    async def _close_for(self, code: int, reason: str) -> None:
        self.closing = True
        log.warning("closing a chat socket of %s from %s: %s", self.actor, self.address, reason)
        if self.cancel is not None:
            self.cancel.set()
        await self.close(code=code)

    async def on_message(self, frame: dict):
        try:
            text, k = services.request_check(frame.get("text"), frame.get("k", services.DEFAULT_K))
        except services.TurnError as exc:
            if exc.code == "bad_field":
                await self.error("bad_field", field=exc.field)
            else:
                await self.send_frame({"type": "chat.error", "code": exc.code, "message": exc.message})
            return
        if self.turn_running:
            await self.error("busy")
            return
        wanted = frame.get("conversation")
        if wanted is not None and not isinstance(wanted, int):
            await self.error("bad_field", field="conversation")
            return
        conversation = await self._conversation(wanted, frame.get("language"))
        if conversation is None:
            await self.error("not_found")
            return
        self.conversation = conversation
        self.cancel = threading.Event()
        self.turn_running = True
        self.turn_task = asyncio.create_task(self._stream_turn(text, k, self.cancel))

    async def on_stop(self, frame: dict):
        if self.cancel is not None:
            self.cancel.set()

    async def on_feedback(self, frame: dict):
        try:
            item, kind, value, key = services.feedback_check(frame.get("item"), frame.get("kind"), frame.get("value"),
                                                             frame.get("key"))
        except services.TurnError as exc:
            await self.error("bad_field", field=exc.field)
            return
        try:
            event, created = await self._feedback(item, kind, value, key)
        except ValidationError as exc:
            await self.error("bad_feedback", detail=" ".join(exc.messages))
            return
        await self.send_frame({"type": "feedback.saved", "item": item, "kind": kind, "value": event.value,
                               "created": created, "id": event.pk})

    async def on_open(self, frame: dict):
        wanted = frame.get("conversation")
        if not isinstance(wanted, int) or isinstance(wanted, bool):
            await self.error("bad_field", field="conversation")
            return
        history = await self._history(wanted)
        if history is None:
            await self.error("not_found")
            return
        await self.send_frame({"type": "conversation.history", "conversation": wanted, "messages": history})

    async def on_new(self, frame: dict):
        if self.turn_running:
            self.cancel.set()
        self.conversation = None
        await self.send_frame({"type": "conversation.created", "conversation": None})

    async def on_list(self, frame: dict):
        query = frame.get("query", "")
        if not isinstance(query, str) or len(query) > QUERY_CHARS:
            await self.error("bad_field", field="query")
            return
        rows = await run_on("socket", selectors.conversation_list)(profile=self.profile, query=query)
        await self.send_frame({"type": "conversation.list", "conversations": rows, "query": query})

    # ------------------------------------------------------------ editing, regenerating, rating, managing

    async def _turn_request(self, frame: dict, text) -> tuple[str, int] | None:
        """Return (text, k) of a turn-starting frame, or send its error and return None."""
        try:
            checked = services.request_check(text, frame.get("k", services.DEFAULT_K))
        except services.TurnError as exc:
            if exc.code == "bad_field":
                await self.error("bad_field", field=exc.field)
            else:
                await self.send_frame({"type": "chat.error", "code": exc.code, "message": exc.message})
            return None
        if self.turn_running:
            await self.error("busy")
            return None
        return checked

    def _begin_turn(self, conversation, text: str, k: int, *, explore: bool = False) -> None:
        self.conversation = conversation
        self.cancel = threading.Event()
        self.turn_running = True
        self.turn_task = asyncio.create_task(self._stream_turn(text, k, self.cancel, explore=explore))

    async def on_edit(self, frame: dict):
        wanted = frame.get("message")
        if not _is_id(wanted):
            await self.error("bad_field", field="message")
            return
        request = await self._turn_request(frame, frame.get("text"))
        if request is None:
            return
        conversation = await run_on("socket", self._rewind_at)(wanted)
        if conversation is None:
            await self.error("message_not_found")
            return
        await self.send_frame({"type": "conversation.rewound", "conversation": conversation.pk, "message": wanted})
        self._begin_turn(conversation, *request)

    async def on_regenerate(self, frame: dict):
        wanted = frame.get("conversation")
        if wanted is not None and not _is_id(wanted):
            await self.error("bad_field", field="conversation")
            return
        if self.turn_running:
            await self.error("busy")
            return
        found = await run_on("socket", self._last_question)(wanted)
        if found is None:
            await self.error("message_not_found")
            return
        conversation, message = found
        request = await self._turn_request(frame, message.text)
        if request is None:
            return
        # The earlier answer stays: the question is asked again and answered with a different, exploring list.
        await self.send_frame({"type": "conversation.regenerating", "conversation": conversation.pk,
                               "message": message.pk})
        self._begin_turn(conversation, *request, explore=True)

    async def on_rate_reply(self, frame: dict):
        wanted, value = frame.get("message"), frame.get("value")
        if not _is_id(wanted):
            await self.error("bad_field", field="message")
            return
        if value not in services.REPLY_RATINGS or isinstance(value, bool):
            await self.error("bad_field", field="value")
            return
        rated = await run_on("socket", self._rate_reply)(wanted, value)
        if rated is None:
            await self.error("message_not_found")
            return
        await self.send_frame({"type": "reply.rated", "message": wanted, "value": rated.rating or 0})

    async def on_rename(self, frame: dict):
        wanted, title = frame.get("conversation"), frame.get("title")
        if not _is_id(wanted):
            await self.error("bad_field", field="conversation")
            return
        try:
            renamed = await run_on("socket", self._rename)(wanted, title)
        except ValidationError as exc:
            await self.error("bad_value", detail=" ".join(exc.messages))
            return
        if renamed is None:
            await self.error("not_found")
            return
        await self.send_frame({"type": "conversation.renamed", "conversation": wanted, "title": renamed.title})
        await self._tell_tabs(wanted)

    async def on_delete(self, frame: dict):
        wanted = frame.get("conversation")
        if not _is_id(wanted):
            await self.error("bad_field", field="conversation")
            return
        if not await run_on("socket", self._delete)(wanted):
            await self.error("not_found")
            return
        await self.send_frame({"type": "conversation.deleted", "conversation": wanted})
        await self._tell_tabs(wanted)

    async def _tell_tabs(self, conversation_id: int) -> None:
        if self.channel_layer is not None:
            await self.channel_layer.group_send(self.group, {"type": "conversation.changed",
                                                             "conversation": conversation_id})

    def _rewind_at(self, message_id: int):
        message = selectors.user_message_for(profile=self.profile, message_id=message_id)
        if message is None:
            return None
        return services.conversation_rewind(conversation=message.conversation, message=message)

    def _last_question(self, conversation_id: int | None):
        conversation = (selectors.conversation_for(profile=self.profile, conversation_id=conversation_id)
                        if conversation_id is not None else self.conversation)
        message = selectors.last_user_message(conversation=conversation) if conversation is not None else None
        return None if message is None else (conversation, message)

    def _rate_reply(self, message_id: int, value: int):
        message = selectors.reply_for(profile=self.profile, message_id=message_id)
        return None if message is None else services.reply_rate(message=message, value=value)

    def _rename(self, conversation_id: int, title):
        conversation = selectors.conversation_for(profile=self.profile, conversation_id=conversation_id)
        return None if conversation is None else services.conversation_rename(conversation=conversation, title=title)

    def _delete(self, conversation_id: int) -> bool:
        conversation = selectors.conversation_for(profile=self.profile, conversation_id=conversation_id)
        if conversation is None:
            return False
        if self.conversation is not None and self.conversation.pk == conversation_id:
            self.conversation = None
        services.conversation_delete(conversation=conversation)
        return True

    async def on_ping(self, frame: dict):
        await self.send_frame({"type": "pong"})

    HANDLERS = {
        "message": on_message,
        "stop": on_stop,
        "feedback": on_feedback,
        "conversation.open": on_open,
        "conversation.new": on_new,
        "conversation.list": on_list,
        "ping": on_ping,
        "message.edit": on_edit,
        "message.regenerate": on_regenerate,
        "reply.rate": on_rate_reply,
        "conversation.rename": on_rename,
        "conversation.delete": on_delete,
    }

    # ------------------------------------------------------------ the turn

    async def _stream_turn(self, text: str, k: int, cancel: threading.Event, *, explore: bool = False):
        """Run the turn in worker threads (head, then tail) and forward its events as frames as they come."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        conversation, profile = self.conversation, self.profile

        def report(exc: Exception) -> None:
            if isinstance(exc, services.TurnError):
                frame = {"type": "chat.error", "code": exc.code, "message": exc.message}
            else:
                log.exception("chat turn failed", exc_info=exc)
                frame = {"type": "chat.error", "code": "internal", "message": ERRORS["internal"]}
            loop.call_soon_threadsafe(queue.put_nowait, frame)

        def forward(events) -> bool:
            """Send the events on; return False when the turn failed (an error frame is sent instead)."""
            try:
                for event in events:
                    loop.call_soon_threadsafe(queue.put_nowait, event.frame())
                return True
            except Exception as exc:  # noqa: BLE001 - reported as an error frame
                report(exc)
            return False

        def head():
            try:
                run = services.turn_start(text=text, profile=profile, conversation=conversation, k=k, cancel=cancel,
                                          explore=explore)
            except Exception as exc:  # noqa: BLE001 - reported as an error frame
                report(exc)
                return None
            return run if forward(run.head()) else None

        async def work():
            try:
                run = await run_on("turn", head)()
                if run is not None:
                    await run_on("tail", forward)(run.tail())
            finally:
                queue.put_nowait(None)

        worker = asyncio.ensure_future(work())
        try:
            while True:
                event = await queue.get()
                if event is None:
                    break
                if event["type"] in ("chat.done", "chat.error"):
                    # The turn is over for the client from here: its next message may start at once.
                    self.turn_running = False
                await self.send_frame(event)
        finally:
            self.turn_running = False
            await worker
        if self.channel_layer is not None and conversation is not None:
            await self.channel_layer.group_send(self.group, {"type": "conversation.changed",
                                                             "conversation": conversation.pk})

    # ------------------------------------------------------------ database work

    @socket_work
    def _conversation(self, wanted: int | None, language):
        if wanted is not None:
            return selectors.conversation_for(profile=self.profile, conversation_id=wanted)
        if self.conversation is not None:
            return self.conversation
        return services.conversation_start(profile=self.profile, language=language if isinstance(language, str) else "en")

    @socket_work
    def _feedback(self, item: int, kind: str, value, key):
        conversation = self.conversation
        return services.feedback_record(profile=self.profile, item_id=item, kind=kind, value=value,
                                           client_key=key, conversation=conversation,
                                           origin=Interaction.Origin.CHAT)

    @socket_work
    def _history(self, wanted: int):
        conversation = selectors.conversation_for(profile=self.profile, conversation_id=wanted)
        if conversation is None:
            return None
        self.conversation = conversation
        return selectors.conversation_history(conversation=conversation)

    # ------------------------------------------------------------ frames out

    async def send_frame(self, frame: dict):
        await self.send(text_data=json.dumps(frame, ensure_ascii=False))

    async def error(self, code: str, **details):
        await self.send_frame({"type": "chat.error", "code": code, "message": ERRORS[code].format(**details)})

