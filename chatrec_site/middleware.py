"""Site-wide HTTP middleware: the Content-Security-Policy header."""
from __future__ import annotations

from django.conf import settings


def policy_text(directives: dict[str, list[str]]) -> str:
    """Return a CSP header value from {directive: [sources]}."""
    return "; ".join(f"{name} {' '.join(sources)}".strip() for name, sources in directives.items())


class ContentSecurityPolicyMiddleware:
    """Send CONTENT_SECURITY_POLICY on every response (a looser one under a path in CSP_PATH_OVERRIDES).

    The pages load their scripts and styles from static files only, so script-src and style-src need no
    'unsafe-inline'. connect-src names this host's websocket URL explicitly (older browsers do not count
    ws:// as 'self'). A response that already carries a policy keeps it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" in response or "Content-Security-Policy-Report-Only" in response:
            return response
        directives = {name: list(sources) for name, sources in settings.CONTENT_SECURITY_POLICY.items()}
        for prefix, extra in settings.CSP_PATH_OVERRIDES.items():
            if request.path.startswith(prefix):
                for name, sources in extra.items():
                    directives.setdefault(name, []).extend(s for s in sources if s not in directives[name])
        try:
            host = request.get_host()
        except Exception:  # noqa: BLE001 - a disallowed Host is answered by Django itself; keep 'self' only
            host = ""
        if host:
            scheme = "wss" if request.is_secure() else "ws"
            directives.setdefault("connect-src", []).append(f"{scheme}://{host}")
        header = "Content-Security-Policy-Report-Only" if settings.CSP_REPORT_ONLY else "Content-Security-Policy"
        response[header] = policy_text(directives)
        return response
