"""The adversarial corpus as cluster objects (tests/adversarial/objects.py): 200+ inputs, every one mapped to an
object a reconciler reads, with a valid, unique name; the hypothesis-made entries are the committed ones."""
# (The generated entries' `expect` is checked against Ramp by tests/unit/test_adversarial_corpus.py.)

from __future__ import annotations

import re
from collections import Counter

from tests.adversarial.corpus import build_input, load_entries, load_pure_entries
from tests.adversarial.generate import COUNTS
from tests.adversarial.objects import CORPUS_ID_ANNOTATION, CorpusObject, corpus_objects

NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _objects() -> list[CorpusObject]:
    return corpus_objects(lambda path: f"http://127.0.0.1:1{path}")[0]


def test_the_corpus_has_200_inputs_and_each_reaches_a_reconciler() -> None:
    entries = [str(e["id"]) for e in load_pure_entries()] + [e.id for e in load_entries()]
    assert len(entries) >= 200
    assert len(entries) == len(set(entries)), "ids must be unique across the corpus files"
    objects = _objects()
    assert {o.entry_id for o in objects} == set(entries)
    assert Counter(o.kind for o in objects).keys() == {"Rollout", "AnalysisRun", "Experiment"}


def test_every_object_has_a_unique_dns_name_and_names_its_entry() -> None:
    objects = _objects()
    names = [o.name for o in objects]
    assert len(names) == len(set(names))
    for o in objects:
        assert len(o.name) <= 63 and NAME.match(o.name), o.name
        assert o.manifest["metadata"]["name"] == o.name
        assert o.manifest["kind"] == o.kind
        assert o.manifest["metadata"]["annotations"][CORPUS_ID_ANNOTATION] == o.entry_id


def test_a_duration_entry_is_the_pause_of_its_rollout() -> None:
    objects = {o.entry_id: o for o in _objects()}
    for entry in load_pure_entries():
        if entry["kind"] == "duration":
            steps = objects[entry["id"]].manifest["spec"]["strategy"]["canary"]["steps"]
            assert steps[1]["pause"]["duration"] == build_input(entry["input"])


def test_the_committed_generated_entries_are_there_for_every_kind() -> None:
    # generated.yaml is committed: hypothesis (derandomized) made it once, and the corpus stays fixed even where a
    # different hypothesis state would draw differently (inside a full test session it can).
    committed = [e for e in load_pure_entries() if str(e["id"]).startswith("gen-")]
    assert len(committed) >= 50
    assert Counter(e["kind"] for e in committed) == Counter({kind: count for kind, count in COUNTS.items()})
