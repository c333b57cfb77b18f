"""The chains benchmark over the sample catalog: verified chains, every shown hop in the graph, a clean audit."""

from __future__ import annotations

from benchmarks import chains
from benchmarks.explain import Audit, audit_rows


def test_sample_catalog_chains_are_verified_and_reported():
    result = chains.run_catalog("sample catalog", chains.sample_train(0), users=12, top=3, seed=0, audit_cls=Audit)
    tallies = result["tallies"]
    assert sum(t.shown for t in tallies.values()) == 36
    for tally in tallies.values():
        assert tally.chained > 0 and tally.hops_shown > 0
        assert tally.hops_verified == tally.hops_shown  # every hop said is in the graph
        assert all(0.0 <= v <= 1.0 for v in tally.lir + tally.sep + tally.etd)
        assert tally.fidelity and tally.flat_fidelity
    turns = result["turns"]
    assert turns["turns"] > 0 and sum(t.chained for t in turns["tallies"].values()) > 0
    assert all(t.hops_verified == t.hops_shown for t in turns["tallies"].values())
    for audit in (result["audit"], turns["audit"]):
        assert not any(audit.found.values())
    text = chains.report([result], "python -m benchmarks.chains", audit_rows)
    assert text.startswith("## Explanations as chains")
    assert "| sample catalog | en | 18 |" in text and "| sample catalog | zh | 18 |" in text
