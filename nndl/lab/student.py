"""The student copy: the project with every solution block replaced by a ``NotImplementedError``
that names the task and the chapter explaining it, and with the chapters' outputs cleared.

A solution block is the lines from a ``### BEGIN SOLUTION`` line to the next ``### END SOLUTION``
line (nbgrader's markers), inside a function that ``nndl.lab.tasks.TASKS`` assigns to a task. The
stub keeps the indentation of the ``BEGIN`` line, so that the copy imports, and
``fill_solutions`` puts the blocks back, byte for byte.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from nndl.lab.readme import student_readme
from nndl.lab.tasks import FUNCTION_TASKS, TASKS
from nndl.table import fast_kernels

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"

# The folders the student copy leaves out: the instructor's tests (the catalogues of wrong and of
# correct implementations, each one slip from or another form of the solution, the tests that
# compare the copy with the solution, the book's build checks), the instructor's CI script and
# the project's documentation (the copy's README is the student's).
INSTRUCTOR_ONLY = ("tests/instructor/", ".ci/", "docs/")

# The tests of nndl's own code of the tasks, which the copy leaves out too: they judge nndl's
# conventions (its NamedTuple caches and their fields, float32 kept, inputs untouched, nndl's
# initialisation order, the fast kernels' agreement), which the assignment does not ask for, so
# a correct solution written another way would fail them. In the copy, the tasks are graded by
# the lab's checks alone (tests/test_lab.py, whose tests carry the task markers): ``pytest -m
# TASK`` gives ``nndl lab check TASK``'s verdict. They stay where they are in the project, so
# that the instructor's ``pytest -m TASK`` still runs them on nndl's code.
NNDL_OWN_TESTS = frozenset(
    {
        "tests/test_layers.py",
        "tests/test_fc_net.py",
        "tests/test_layernorm_network.py",
        "tests/test_normalization.py",
        "tests/test_normalization_witnesses.py",
        "tests/test_optim.py",
        "tests/test_rmsnorm.py",
        "tests/test_witnesses.py",
        "tests/test_why.py",
        "tests/test_why_network.py",
        "tests/test_book_helpers.py",
        "tests/layer_cases.py",
        "tests/cases.py",
    }
)


def instructor_only(name: str) -> bool:
    """Whether the project file ``name`` (relative, POSIX separators) stays out of the copy."""
    return name.startswith(INSTRUCTOR_ONLY) or name in NNDL_OWN_TESTS


# Directories never copied when the project is not a git checkout (git ignores them otherwise).
NOT_COPIED = frozenset(
    {
        ".git",
        ".venv",
        "_build",
        "__pycache__",
        ".pytest_cache",
        ".hypothesis",
        ".ruff_cache",
        ".ipynb_checkpoints",
        "build",
        "dist",
    }
)


def fast_aliases() -> str:
    """The student copy's ``nndl/fast.py``: each fast kernel of the table of layers
    (``nndl.table.fast_kernels``) as the reference function it stands in for, which the student
    writes. The instructor's kernels would give the answers away; with these, the network and
    the benchmarks of the copy run the student's code."""
    imports: dict[str, list[str]] = {}
    for kernel, reference in fast_kernels().items():
        alias = (
            reference.name
            if kernel.name == reference.name
            else f"{reference.name} as {kernel.name}"
        )
        imports.setdefault(reference.module, []).append(alias)
    names = sorted(kernel.name for kernel in fast_kernels())
    return "\n".join(
        [
            '"""The fast kernels of nndl (``nndl.table``), in this student copy your own functions',
            "under their names: the network and the benchmarks run your code. Written by",
            '``nndl lab student``."""',
            "",
            *(
                f"from {module} import {', '.join(sorted(aliases))}"
                for module, aliases in sorted(imports.items())
            ),
            "",
            f"__all__ = {names!r}",
            "",
        ]
    )


# Files the copy writes itself instead of copying them (``fill_solutions`` puts the solution's
# back): their content, made from the table.
GENERATED = {"nndl/fast.py": fast_aliases}


class LabError(Exception):
    """A student copy that cannot be made or filled, with the reason."""


@dataclass(frozen=True)
class SolutionBlock:
    """The lines ``start`` (the BEGIN marker) to ``stop - 1`` (the END marker) of a file."""

    path: str  # relative to the project root, POSIX separators
    function: str  # qualified name of the enclosing function, e.g. "FullyConnectedNet.loss"
    task: str
    start: int
    stop: int
    indent: str


# --------------------------------------------------------------------------------------------
# Finding the blocks and writing their stubs
# --------------------------------------------------------------------------------------------


def _functions(tree: ast.AST, prefix: str = ""):
    """Yield (qualified name, first line, last line) of every function in ``tree`` (1-based)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = prefix + node.name
            if not isinstance(node, ast.ClassDef):
                yield name, node.lineno, node.end_lineno
            yield from _functions(node, name + ".")


def find_solution_blocks(path: str, text: str) -> list[SolutionBlock]:
    """The solution blocks of one Python file, in order.

    Inputs:
    - path: the file's path relative to the project root, e.g. "nndl/layers.py"
    - text: its contents

    Returns:
    - list of ``SolutionBlock``; raises ``LabError`` for unbalanced markers or a block outside
      the functions that ``TASKS`` lists for ``path``
    """
    lines = text.splitlines()
    markers = [(i, line.strip()) for i, line in enumerate(lines) if line.strip() in (BEGIN, END)]
    if not markers:
        return []
    functions = list(_functions(ast.parse(text, filename=path)))
    blocks = []
    for (start, begin), (end, finish) in zip(markers[::2], markers[1::2] + [(None, None)]):
        if begin != BEGIN or finish != END:
            line = start if begin != BEGIN or finish is None else end
            raise LabError(
                f"{path}:{line + 1}: unbalanced solution markers: every {BEGIN!r} "
                f"needs an {END!r} before the next {BEGIN!r}"
            )
        # The innermost function containing the block is the last match (they are nested).
        enclosing = [name for name, first, last in functions if first <= start + 1 <= last]
        function = enclosing[-1] if enclosing else "<module>"
        task = FUNCTION_TASKS.get((path, function))
        if task is None:
            raise LabError(
                f"{path}:{start + 1}: the solution block in {function} belongs to no lab task; "
                "add the function to a lab task of its layer (nndl/table.py) or of nndl.lab.tasks"
            )
        indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
        blocks.append(SolutionBlock(path, function, task, start, end + 1, indent))
    return blocks


def stub_message(task: str, function: str, title: str) -> str:
    """The message of a stub's NotImplementedError, e.g. "affine: affine_forward is not
    implemented yet — see chapter 6, The network" (``STUB_MESSAGE`` reads it back)."""
    chapter = TASKS[task].chapter
    return f"{task}: {function} is not implemented yet — see chapter {chapter}, {title}"


# Reads a stub's message back: which task, which function, which chapter.
STUB_MESSAGE = re.compile(
    r"^(?P<task>\w+): (?P<function>[\w.]+) is not implemented yet — see chapter (?P<chapter>\d+)"
)


def stub(block: SolutionBlock, titles: dict[int, str]) -> str:
    """The line that replaces ``block`` in the student copy (without its newline).

    ``titles`` maps chapter numbers to chapter titles (see ``chapter_titles``).
    """
    message = stub_message(block.task, block.function, titles[TASKS[block.task].chapter])
    # A JSON string is a valid Python string literal, quotes and backslashes escaped.
    return f"{block.indent}raise NotImplementedError({json.dumps(message, ensure_ascii=False)})"


def student_source(path: str, text: str, titles: dict[int, str]) -> str:
    """``text`` with each solution block replaced by its stub (line endings kept)."""
    lines = text.splitlines(keepends=True)
    for block in reversed(find_solution_blocks(path, text)):
        newline = lines[block.stop - 1][len(lines[block.stop - 1].rstrip("\r\n")) :]
        lines[block.start : block.stop] = [stub(block, titles) + (newline or "\n")]
    return "".join(lines)


def chapter_notebooks(root: Path) -> dict[int, Path]:
    """Chapter number -> notebook (``root/book/NN_*.ipynb``) of every task's chapter; raises
    ``LabError`` if one is missing."""
    notebooks = {}
    for chapter in sorted({task.chapter for task in TASKS.values()}):
        found = sorted((root / "book").glob(f"{chapter:02d}_*.ipynb"))
        if len(found) != 1:
            raise LabError(f"need one chapter {chapter} notebook book/{chapter:02d}_*.ipynb")
        notebooks[chapter] = found[0]
    return notebooks


def chapter_titles(root: Path) -> dict[int, str]:
    """Chapter number -> title (the first ``# `` heading) of every task's chapter in
    ``root/book``; raises ``LabError`` if a chapter's notebook is missing or has no title."""
    titles = {}
    for chapter, notebook in chapter_notebooks(root).items():
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        headings = [
            line[2:].strip()
            for cell in cells
            if cell["cell_type"] == "markdown"
            for line in "".join(cell["source"]).splitlines()
            if line.startswith("# ")
        ]
        if not headings:
            raise LabError(f"{notebook.relative_to(root)} has no '# ' title")
        titles[chapter] = re.sub(r"^\d+\.\s*", "", headings[0])  # "6. The network" -> "The network"
    return titles


def cleared_notebook(text: str) -> str:
    """A notebook's JSON with every code cell's outputs and execution count cleared (written as
    Jupyter writes notebooks: one-space indent, sorted keys)."""
    notebook = json.loads(text)
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------
# The copy
# --------------------------------------------------------------------------------------------


def project_root() -> Path:
    """The source checkout this ``nndl`` was imported from (the folder holding pyproject.toml)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        raise LabError(
            f"{root} has no pyproject.toml: the student copy is made from a source checkout "
            "of nndl (install it with pip install -e), not from an installed wheel"
        )
    return root


def project_files(root: Path) -> list[str]:
    """The project's files, relative to ``root`` (POSIX separators), sorted.

    In a git checkout: the files git tracks or would track (not the ignored ones). Elsewhere: every
    file outside the virtual environments, builds and caches of ``NOT_COPIED``.
    """
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout.decode()
        inside_git = True
    except (OSError, subprocess.CalledProcessError):
        inside_git = False
    if inside_git:
        # --cached also lists tracked files deleted from the working tree.
        files = {f for f in listed.split("\0") if f and (root / f).is_file()}
    else:
        files = {
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file()
            and not any(
                part in NOT_COPIED or part.endswith(".egg-info")
                for part in p.relative_to(root).parts
            )
        }
    return sorted(files)


def _check_outdir(outdir: Path, root: Path) -> None:
    if outdir == root or root in outdir.parents:
        raise LabError(f"{outdir} is inside the source tree {root}; choose a folder outside it")
    if outdir.exists() and (not outdir.is_dir() or any(outdir.iterdir())):
        raise LabError(f"{outdir} exists and is not an empty folder; choose a new one")


def student_pyproject(text: str) -> str:
    """The student copy's pyproject.toml: its chapters have no outputs to compare with, so pytest
    runs them with ``--nbval-lax`` (each chapter must run without error) instead of ``--nbval``."""
    if "--nbval " not in text:
        raise LabError("pyproject.toml: expected '--nbval ' in pytest's addopts")
    return text.replace("--nbval ", "--nbval-lax ")


def make_student_copy(outdir, root=None) -> list[SolutionBlock]:
    """Write the student copy of the project at ``root`` (default: this checkout) to ``outdir``.

    Solution blocks become ``NotImplementedError`` stubs, the chapters in ``book/`` lose their
    outputs, the README is the student's (``nndl.lab.readme``), the instructor-only folders are
    left out; everything else is copied as it is.

    Inputs:
    - outdir: a folder that does not exist yet or is empty, outside the source tree
    - root: the project's root folder

    Returns:
    - the solution blocks replaced, in file order
    """
    root = Path(root).resolve() if root is not None else project_root()
    outdir = Path(outdir).resolve()
    _check_outdir(outdir, root)
    titles = chapter_titles(root)
    files = [name for name in project_files(root) if not instructor_only(name)]
    # Find every block before writing anything, so that a marker problem leaves no half copy.
    blocks = {
        name: find_solution_blocks(name, (root / name).read_text(encoding="utf-8"))
        for name in files
        if name.endswith(".py")
    }
    replaced = [block for found in blocks.values() for block in found]
    unmarked = set(FUNCTION_TASKS) - {(b.path, b.function) for b in replaced}
    if unmarked:
        missing = ", ".join(f"{path}: {function}" for path, function in sorted(unmarked))
        raise LabError(
            f"these task functions have no solution block (is {root} a student copy?): {missing}"
        )

    for name in files:
        source, target = root / name, outdir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if name in GENERATED:
            target.write_text(GENERATED[name](), "utf-8")
        elif blocks.get(name):
            text = source.read_bytes().decode("utf-8")
            target.write_bytes(student_source(name, text, titles).encode("utf-8"))
        elif name.startswith("book/") and name.endswith(".ipynb"):
            target.write_text(cleared_notebook(source.read_text(encoding="utf-8")), "utf-8")
        elif name == "pyproject.toml":
            target.write_text(student_pyproject(source.read_text(encoding="utf-8")), "utf-8")
        elif name == "README.md":
            notebooks = {
                c: p.relative_to(root).as_posix() for c, p in chapter_notebooks(root).items()
            }
            target.write_text(student_readme(titles, notebooks), "utf-8")
        else:
            shutil.copy2(source, target)  # copy2 keeps the mode: a script stays executable
    return replaced


def fill_solutions(student_dir, solution_dir) -> list[Path]:
    """Put the solution blocks of ``solution_dir`` back into an untouched student copy, in place.

    Each stub in a student file is replaced by the block it stands for; the result is the
    solution's file byte for byte. A file the copy generated (``GENERATED``: the fast kernels'
    aliases) is the solution's again. Raises ``LabError`` if a stub is missing (the file was
    edited).

    Returns:
    - the student files that were filled
    """
    student_dir, solution_dir = Path(student_dir), Path(solution_dir)
    titles = chapter_titles(solution_dir)
    filled = []
    for path in sorted(student_dir.rglob("*.py")):
        name = path.relative_to(student_dir).as_posix()
        solution = solution_dir / name
        if not solution.is_file():
            continue
        if name in GENERATED:
            path.write_bytes(solution.read_bytes())
            filled.append(path)
            continue
        solution_lines = solution.read_bytes().decode("utf-8").splitlines(keepends=True)
        blocks = find_solution_blocks(name, "".join(solution_lines))
        if not blocks:
            continue
        lines = path.read_bytes().decode("utf-8").splitlines(keepends=True)
        stubs = [line.rstrip("\r\n") for line in lines]
        position = 0
        for block in blocks:
            try:
                found = stubs.index(stub(block, titles), position)
            except ValueError:
                raise LabError(
                    f"{path}: the stub of {block.function}'s solution block is missing; "
                    "fill_solutions needs an untouched student copy"
                ) from None
            lines[found] = "".join(solution_lines[block.start : block.stop])
            position = found + 1
        path.write_bytes("".join(lines).encode("utf-8"))
        filled.append(path)
    return filled
