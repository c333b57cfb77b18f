"""Which item text requests in words are matched against, per catalog and domain, and what each form finds.

Run: python -m benchmarks.request_forms [--data-dir ../shared/data] [--no-docs]

For each catalog, `request_text.choose_forms` (what training runs) measures, with the packaged encoder, R@10 of
the catalog's own descriptive values as requests, each left out of the texts of the items carrying it, against
the whole texts and against the texts without names, then in the chosen form with each item's hubness (its mean
cosine to the 10 nearest of the domain's other values) taken off its match; the table shows all three, the form
served and whether the domain is damped. Catalogs:
ML-100K and ml-latest-small (from the data folder), the shipped sample catalog (products, films, music, books,
games), and the sample's products imported with nothing but a title and attributes (a shop's bare export).
Rewrites the request_forms section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

from benchmarks.common import add_data_dir, cache_dir, data_root, write_section
from recommender.engine.data import load_ml100k, load_ml_latest
from recommender.engine.embedding import SentenceEmbedder, StoredEmbeddings
from recommender.engine.request_text import HUB_WEIGHT, MARGIN, MIN_VALUES, choose_forms
from recommender.engine.types import ItemRecord
from recommender.sample_data import load_catalog


def catalogs(root) -> list[tuple[str, list[ItemRecord]]]:
    """Return (name, records) for every catalog measured: the data folder's where present, and the sample's."""
    out = []
    if (root / "ml-100k").exists():
        out.append(("ML-100K", list(load_ml100k(root / "ml-100k").items.values())))
    if (root / "ml-latest-small").exists():
        out.append(("ml-latest-small", list(load_ml_latest(root / "ml-latest-small").items.values())))
    sample = load_catalog()
    out.append(("sample catalog", sample))
    out.append(("sample products, title and attributes only",
                [replace(r, description="", aliases=()) for r in sample if r.domain == "product"]))
    return out


def rows(root) -> list[dict]:
    """Return one row per catalog and domain: values measured, both forms' R@10 and the form served."""
    store = StoredEmbeddings(SentenceEmbedder(), cache_dir("request_forms", "embeddings"))
    out = []
    for name, records in catalogs(root):
        started = time.perf_counter()
        forms, measured = choose_forms(records, store.encode)
        seconds = time.perf_counter() - started
        for domain, form in forms.items():
            out.append({"catalog": name, "domain": domain, "form": form, "seconds": seconds, **measured[domain]})
            print(out[-1], file=sys.stderr)
    return out


def markdown(found: list[dict], command: str) -> str:
    lines = [
        "## Where requests in words are matched: whole item texts or texts without names",
        "",
        f"Command: `{command}`. Packaged all-MiniLM-L6-v2. Each of a domain's descriptive values carried by 5 items "
        "to a fifth of the domain (200 at most, 20 carriers each) is a request; its carriers are relevant and the "
        "value is left out of their texts. R@10 against the whole texts and against the texts without titles and "
        f"aliases; a domain drops names only with {MIN_VALUES} values or more and {MARGIN:.2f}x the recall "
        "(`recommender.engine.request_text`). Training makes this choice per catalog (content setting "
        f"`request_text` \"auto\"). *Damped*: the chosen form's R@10 with {HUB_WEIGHT:g} of each item's hubness, "
        "its mean cosine to the 10 nearest of the domain's other values (never the ones asked), taken off its "
        "match; served "
        f"(content setting `damping` \"auto\") at {MARGIN:.2f}x the undamped recall.",
        "",
        "| catalog | domain | values | R@10 whole | R@10 without names | served | R@10 damped | damped |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in found:
        whole = f"{row['whole_r10']:.3f}" if "whole_r10" in row else "–"
        described = f"{row['described_r10']:.3f}" if "described_r10" in row else "–"
        damped = f"{row['damped_r10']:.3f}" if "damped_r10" in row else "–"
        lines.append(f"| {row['catalog']} | {row['domain']} | {row['values']} | {whole} | {described} | "
                     f"{row['form']} | {damped} | {'yes' if row.get('damped') else 'no'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_dir(parser)
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    text = markdown(rows(data_root(args.data_dir)), "python -m benchmarks.request_forms")
    print(text)
    if not args.no_docs:
        write_section("request_forms", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
