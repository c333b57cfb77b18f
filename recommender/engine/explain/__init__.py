"""Explanations built from ranker evidence: template text, checked LLM paraphrase, follow-ups, fidelity."""
from __future__ import annotations

from .chains import attach_chain, chain_view
from .checker import CatalogIndex, catalog_index, check_explanation, cited_in_text
from .cited import cited_evidence
from .fidelity import evidence_coverage
from .followup import FollowupAnswer, answer_followup, resolve_followup
from .paraphrase import FALLBACKS, ExplanationResult, FallbackCounter, build_prompt, paraphrase
from .shown import score_shares, shown_evidence
from .template import evidence_titles, explain_text, localized_title, localized_titles

__all__ = [
    "FALLBACKS", "attach_chain", "chain_view", "CatalogIndex", "ExplanationResult", "FallbackCounter", "FollowupAnswer", "answer_followup",
    "build_prompt", "catalog_index", "check_explanation", "cited_evidence", "cited_in_text", "evidence_coverage",
    "evidence_titles", "explain_text", "localized_title", "localized_titles", "paraphrase", "resolve_followup",
    "score_shares", "shown_evidence",
]
