"""The instructor's suite starts its longest files first (pytest --durations), so that under
pytest-xdist (the README's command, with --no-loadscope-reorder to keep this order) no long file
starts last and runs alone at the end. Only the order changes; a file missing here runs later.

Here rather than in tests/conftest.py, which the student copy keeps: it names instructor files.
"""

LONGEST_FIRST = (
    "tests/instructor/test_corpus_pasted.py",
    "tests/instructor/test_autograder.py",
    "tests/instructor/test_catalogues.py",
    "tests/instructor/test_student_copy.py",
    "tests/instructor/test_task_markers.py",
    "tests/test_lab.py",
    "tests/instructor/test_book_html.py",
    "book/08_initialisation.ipynb",
    "book/10_layer_norm.ipynb",
    "book/11_images.ipynb",
    "book/09_batch_size.ipynb",
)


def pytest_collection_modifyitems(items):
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
