"""Moved to chat.throttles; the old name stays importable as the very same module."""
import sys

from chat import throttles as _moved

sys.modules[__name__] = _moved
