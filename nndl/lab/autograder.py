"""Gradescope's autograder package, made by ``nndl lab autograder OUT.zip``.

The zip holds what Gradescope's autograder specification asks for: ``setup.sh`` (run once,
when the autograder image is built: installs the student copy), ``run_autograder`` (run for
each submission: copies every file a student edits -- the modules of the task table, found
under their path or their bare name -- into the copy, then grades with ``nndl lab check
--gradescope``, each task in a process of its own with a time limit) and the student copy
itself, ``nndl-student/`` (``nndl lab student``).

``run_autograder`` reads ``$AUTOGRADER`` (default ``/autograder``) and ``$NNDL_PYTHON``
(default ``python3``), so that a test can run it in a folder of its own.
"""

from __future__ import annotations

import shlex
import stat
import tempfile
import zipfile
from pathlib import Path

from nndl.lab.runner import DEFAULT_TIMEOUT
from nndl.lab.student import LabError, make_student_copy
from nndl.lab.tasks import TASKS

COPY = "nndl-student"  # the student copy's folder in the zip, /autograder/source/nndl-student

SETUP = f"""\
#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image: install the student copy
# (nndl and the packages its checks need).
set -euo pipefail
cd /autograder/source/{COPY}
pip3 install -e '.[test]'
"""


def submitted_files() -> list[str]:
    """Every file a student edits: the modules of the task table, in its order."""
    return list(dict.fromkeys(path for task in TASKS.values() for path in task.paths))


def run_autograder_script(timeout: float = DEFAULT_TIMEOUT) -> str:
    """The ``run_autograder`` script."""
    files = " ".join(shlex.quote(path) for path in submitted_files())
    return f"""\
#!/usr/bin/env bash
# Gradescope runs this for each submission. The student's files arrive in
# $AUTOGRADER/submission, uploaded as nndl/layers.py or as layers.py: both are found.
set -u
AUTOGRADER="${{AUTOGRADER:-/autograder}}"
PYTHON="${{NNDL_PYTHON:-python3}}"
cd "$AUTOGRADER/source/{COPY}" || exit 1
for f in {files}; do
    for submitted in "$AUTOGRADER/submission/$f" "$AUTOGRADER/submission/${{f##*/}}"; do
        if [ -f "$submitted" ]; then cp "$submitted" "$f"; fi
    done
done
mkdir -p "$AUTOGRADER/results"
results="$AUTOGRADER/results/results.json"
"$PYTHON" -m nndl lab check --timeout {timeout:g} --gradescope "$results" || true
if [ ! -s "$results" ]; then
    # nndl could not even start: still a results file, with the reason
    printf '%s\\n' '{{"score": 0, "output": "The autograder could not run nndl lab check; \
see the autograder log.", "tests": []}}' > "$results"
fi
"""


def write_autograder(zip_path, timeout: float = DEFAULT_TIMEOUT, root=None) -> Path:
    """Write the autograder zip at ``zip_path`` from the project at ``root`` (default: this
    checkout) and return its path."""
    zip_path = Path(zip_path).resolve()
    if zip_path.suffix != ".zip":
        raise LabError(f"{zip_path}: the autograder package is a .zip file")
    if not timeout > 0:
        raise LabError(f"the time limit must be > 0 seconds, got {timeout}")
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nndl-autograder-") as folder:
        copy = Path(folder) / COPY
        make_student_copy(copy, root)
        executable = 0o755 << 16 | stat.S_IFREG << 16
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in (
                ("setup.sh", SETUP),
                ("run_autograder", run_autograder_script(timeout)),
            ):
                info = zipfile.ZipInfo(name)
                info.external_attr = executable
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, text)
            for path in sorted(copy.rglob("*")):
                if path.is_file():
                    archive.write(path, f"{COPY}/{path.relative_to(copy).as_posix()}")
    return zip_path
