"""ASGI entry point: HTTP through Django (bodies read under a deadline), websockets through Channels with auth
and a same-origin check (scheme, host and port).
"""
import os

from django.core.asgi import get_asgi_application

from chatrec_site.envconfig import settings_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatrec_site.settings")
settings_or_exit()  # a bad setting stops the server with one line naming the variable
django_asgi_app = get_asgi_application()  # load apps before importing consumers

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from chat.routing import websocket_urlpatterns  # noqa: E402
from chat.workers import socket_auth_stack  # noqa: E402
from chatrec_site import warmup  # noqa: E402
from chatrec_site.asgi_guards import (  # noqa: E402
    BodyDeadline,
    ClientAddress,
    HttpConcurrency,
    SameOriginValidator,
    SocketAddressBudget,
    bound_daphne_request_reads,
    bound_daphne_socket_queues,
)

bound_daphne_request_reads(settings.CHATREC_BODY_TIMEOUT)
bound_daphne_socket_queues(settings.CHATREC_WS_QUEUE_FRAMES)
warmup.start()  # load the catalog and models now, not on a person's first turn

application = ProtocolTypeRouter(
    {
        # The body is read first, so a slow sender holds no request slot.
        "http": ClientAddress(BodyDeadline(HttpConcurrency(django_asgi_app))),
        "websocket": ClientAddress(SocketAddressBudget(SameOriginValidator(socket_auth_stack(
            URLRouter(websocket_urlpatterns))))),
    }
)
