"""Writes tests/adversarial/generated.yaml: adversarial inputs of the pure kinds made by hypothesis strategies.

    .venv/bin/python -m tests.adversarial.generate

Grammars aimed at the costs issue 13 names (nested predicates over ranges, string growth, nested regex
quantifiers, long runs of duration and quantity digits, brace soup for the template scanners). Hypothesis runs
derandomized (a fixed seed, no example database), so run on its own the pinned hypothesis writes the same file;
the file is committed (the corpus stays fixed), and every entry's `expect` is what Ramp answered when it was
written (the error's last clause, or "ok"). tests/unit/test_adversarial_corpus.py and the e2e scenario read it
through `corpus.load_pure_entries`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.adversarial.corpus import GENERATED_CORPUS
from tests.unit.test_adversarial_corpus import NAMED_ERRORS, run_entry

# How many entries of each kind (the first distinct examples hypothesis draws).
COUNTS = {"expression": 18, "regex": 12, "duration": 12, "quantity": 12, "template": 12}

_bounds = st.sampled_from([0, 9, 99, 999, 9999, 99999, 999999, 9999999, 99999999999])
_range = st.builds(lambda low, high: f"{low}..{high}", st.sampled_from([0, 1, 5]), _bounds)


def _collections(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda r, e: f"map({r}, {{{e}}})", inner, st.sampled_from(["#", "# * 2", "[#, #]", "0..99", "'ab'"])),
        st.builds(lambda r: f"filter({r}, {{# % 2 == 0}})", inner),
        st.builds(lambda r: f"uniq({r})", inner),
        st.builds(lambda a, b: f"concat({a}, {b})", inner, inner),
        st.builds(lambda r: f"flatten(map({r}, {{[#, #]}}))", inner),
    )


_collection = st.recursive(_range, _collections, max_leaves=4)


def _predicates(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    quantifier = st.sampled_from(["all", "any", "none", "one"])
    return st.one_of(
        st.builds(lambda q, c, p: f"{q}({c}, {{{p}}})", quantifier, _collection, inner),
        st.builds(lambda a, b: f"({a}) && ({b})", inner, inner),
        st.builds(lambda c, p: f"count({c}, {{{p}}}) > 0", _collection, inner),
    )


_leaf_predicate = st.one_of(
    st.sampled_from(["true", "false", "# >= 0", "# in 0..999", "result == nil"]),
    st.builds(lambda c: f"len({c}) > 0", _collection),
    st.builds(lambda c: f"sum({c}) >= 0", _collection),
    st.builds(lambda c: f"len(string({c})) > 0", _collection),
    st.builds(lambda c: f"len(join(map({c}, {{'abc'}}), '')) > 0", _collection),
)
expressions = st.recursive(_leaf_predicate, _predicates, max_leaves=5)

_atom = st.sampled_from(["a", "(a|aa)", "[a-z]", ".", "(a*)", "\\d", "(?:ab)"])


def _regex_nest(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    quantifier = st.sampled_from(["*", "+", "?", "{2}", "{1,1000}", "{1000}", "{99999}", "*?", "{0,}"])
    return st.one_of(
        st.builds(lambda r, q: f"({r}){q}", inner, quantifier),
        st.builds(lambda a, b: f"{a}{b}", inner, inner),
        st.builds(lambda a, b: f"{a}|{b}", inner, inner),
    )


regexes = st.builds(
    lambda body, anchored: f"^{body}$" if anchored else body,
    st.recursive(_atom, _regex_nest, max_leaves=6),
    st.booleans(),
)

_digits = st.builds(lambda d, n: d * n, st.sampled_from(["1", "9", "0"]), st.integers(1, 400))
_duration_component = st.builds(
    lambda number, fraction, unit: f"{number}{fraction}{unit}",
    _digits,
    st.sampled_from(["", ".5", ".", "..1"]),
    st.sampled_from(["h", "m", "s", "ms", "us", "ns", "x", "", "hms"]),
)
durations = st.builds(
    lambda parts, times, tail: "".join(parts) * times + tail,
    st.lists(_duration_component, min_size=1, max_size=3),
    st.integers(1, 60),
    st.sampled_from(["", "x", " ", "s"]),
)

quantities = st.builds(
    lambda sign, whole, fraction, exponent, suffix: f"{sign}{whole}{fraction}{exponent}{suffix}",
    st.sampled_from(["", "+", "-", "--"]),
    _digits,
    st.sampled_from(["", ".", ".5", ".000001"]),
    st.one_of(st.just(""), st.builds(lambda s, n: f"e{s}{n}", st.sampled_from(["", "+", "-"]), _bounds)),
    st.sampled_from(["", "m", "k", "Gi", "Ei", "x", "KiKi", "E"]),
)

_template_part = st.sampled_from(["{{", "}}", "{{args.x}}", "{{ args.x }}", "args.", "x", " ", "{{args.y}}", "{"])
templates = st.builds(
    lambda parts, times: "".join(parts) * times, st.lists(_template_part, min_size=1, max_size=6), st.integers(1, 3000)
)

STRATEGIES: dict[str, st.SearchStrategy[str]] = {
    "expression": expressions,
    "regex": regexes,
    "duration": durations,
    "quantity": quantities,
    "template": templates,
}


def draw(strategy: st.SearchStrategy[str], count: int) -> list[str]:
    """The first `count` distinct examples hypothesis draws, derandomized (the same every run)."""
    seen: list[str] = []

    @settings(
        derandomize=True,
        database=None,
        max_examples=count * 20,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def collect(text: str) -> None:
        if text not in seen and len(seen) < count and len(text) <= 100_000:
            seen.append(text)

    collect()
    return seen


def expected(entry: dict[str, Any]) -> str:
    """What Ramp answers today: "ok", or the last clause of the named error (a stable part of its message)."""
    try:
        run_entry(entry)
    except NAMED_ERRORS[entry["kind"]] as error:
        message = str(error)
        clause = message.rsplit(": ", 1)[-1]
        return (clause if len(clause) >= 8 else message)[:60]
    return "ok"


def generate(counts: dict[str, int] = COUNTS, draw_examples: Callable[..., list[str]] = draw) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for kind, count in counts.items():
        for index, text in enumerate(draw_examples(STRATEGIES[kind], count)):
            entry: dict[str, Any] = {"id": f"gen-{kind}-{index:02d}", "kind": kind, "input": text}
            if kind == "regex":
                entry["subject"] = "a" * 30 + "!"
            entry["expect"] = expected(entry)
            entries.append(entry)
    return entries


def main() -> None:
    header = (
        "# Made by hypothesis (derandomized): .venv/bin/python -m tests.adversarial.generate\n"
        "# Do not edit by hand; see tests/adversarial/generate.py and corpus.yaml for the entry format.\n"
    )
    body = yaml.safe_dump(generate(), sort_keys=False, allow_unicode=True, width=200)
    GENERATED_CORPUS.write_text(header + body, encoding="utf-8")
    print(f"wrote {GENERATED_CORPUS}")


if __name__ == "__main__":
    main()
