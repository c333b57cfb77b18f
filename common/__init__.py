"""Shared utilities with no project dependency: untrusted JSON (safejson) and rate limits (ratelimit).

The lowest layer (docs/architecture.md): the engine, the recommender and chat apps and the project shell may import
it; it imports none of them.
"""
