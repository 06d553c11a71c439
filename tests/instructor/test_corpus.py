"""The corpus of real students' idioms (``tests/instructor/corpus``): every correct entry is
correct and every wrong entry wrong, proved by the corpus's own harness (numerical gradients,
PyTorch's answers, float64 and float32), independently of nndl's grader; and the corpus is what
the phase-2 harness needs (bodies that use only their arguments, np and the layers they name;
metadata that names real repositories and known idioms).

Instructor-only: every correct entry is a solution.
"""

import builtins
from collections import Counter

import pytest

from nndl.lab import TASKS
from tests.instructor import corpus
from tests.instructor.corpus.verify import free_names, graded_with, verify

CORRECT = [pytest.param(e, id=e.name) for e in corpus.CORRECT]
WRONG = [pytest.param(e, id=e.name) for e in corpus.WRONG]


@pytest.mark.parametrize("entry", CORRECT)
def test_a_correct_entry_matches_the_independent_answer_in_float64_and_float32(entry):
    report = verify(entry)
    assert not report.problems, report.problems


@pytest.mark.parametrize("entry", WRONG)
def test_a_wrong_entry_differs_from_the_independent_answer(entry):
    report = verify(entry)
    assert report.problems, f"{entry.name} passes the harness: {entry.mistake}"


@pytest.mark.parametrize("entry", CORRECT + WRONG)
def test_a_body_uses_only_np_builtins_and_the_layers_it_names(entry):
    allowed = {"np", *entry.calls}
    used = free_names(entry) - set(dir(builtins))
    assert used <= allowed, f"{entry.name} reads {sorted(used - allowed)}"
    assert entry.body.strip() and not entry.body.startswith((" ", "\t"))


def test_the_corpus_has_45_correct_entries_and_three_per_task_of_every_task():
    assert len(corpus.CORRECT) >= 45
    counts = Counter(e.task for e in corpus.CORRECT)
    assert set(counts) == {*TASKS, "rmsnorm"}
    assert min(counts.values()) >= 3, counts
    assert {e.task for e in corpus.WRONG} == set(counts)


def test_every_idiom_class_is_exercised_by_a_correct_entry_and_every_entry_names_known_ones():
    used = {idiom for e in corpus.CORRECT for idiom in e.idioms}
    assert used == set(corpus.IDIOMS), sorted(set(corpus.IDIOMS) - used)
    for entry in corpus.ENTRIES:
        assert set(entry.idioms) <= set(corpus.IDIOMS), entry.name


def test_the_entries_follow_at_least_ten_of_the_repositories_read():
    followed = {repo for e in corpus.ENTRIES for repo in e.follows}
    assert followed <= set(corpus.REPOSITORIES)
    assert len(followed) >= 10
    assert all(e.follows for e in corpus.ENTRIES)


def test_entries_have_unique_names_companions_that_exist_and_wrong_ones_a_diagnosis():
    names = [e.name for e in corpus.ENTRIES]
    assert len(set(names)) == len(names)
    for entry in corpus.ENTRIES:
        assert all(name in corpus.BY_NAME for name in entry.companions), entry.name
        assert all(corpus.BY_NAME[n].kind == "correct" for n in entry.companions), entry.name
        if entry.kind == "wrong":
            assert entry.diagnosis and entry.mistake
    for entry in corpus.ENTRIES:
        assert all(e.kind == "correct" for e in graded_with(entry)[1:]), entry.name
