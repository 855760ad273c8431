"""Every code block of README.md and docs/*.rst runs as written, in order, in a fresh directory, as a reader would.

Each page runs on its own, in a new temporary directory, against the installed package, so a page can only use what
it creates itself or what the package ships. The blocks, parsed with Sybil:

- ``python``: executed in one namespace per page; what it prints is kept for the next ``text`` block. With a
  ``:caption: PATH`` (reST) it is a file the reader saves: it is written to ``PATH``, not executed;
- ``json``, ``yaml``, ``toml``: with a ``:caption: PATH`` (reST) or a ``title="PATH"`` after the language
  (Markdown), written to ``PATH``; without, a fragment that must parse (``toml`` always needs a caption);
- ``text``: the output of the ``python`` block before it, as a reader sees it (``...`` stands for omitted text);
- ``console``: ``$ COMMAND`` lines, each followed by the output it prints (stdout and stderr; ``...`` for omitted
  text; no lines: the output is not checked). ``pykeen-backfill`` and ``pykeen`` commands run in this process through
  their click groups, which saves an interpreter start each; anything else runs in ``bash``. A command must exit 0,
  or 2 where its shown output starts with ``Error:``;
- ``bash`` or ``shell``: every line is a command, as in ``console``, with its output not checked.

A block the suite cannot run (an installation, the full benchmark) is preceded by a Sybil skip comment with the
reason: ``.. skip: next "why"`` in reST, ``<!-- skip: next "why" -->`` in Markdown.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import json
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner
from sybil import Example, Sybil
from sybil.parsers.markdown import CodeBlockParser as MarkdownBlocks
from sybil.parsers.markdown import SkipParser as MarkdownSkip
from sybil.parsers.rest import CodeBlockParser as RestBlocks
from sybil.parsers.rest import SkipParser as RestSkip

ROOT = pathlib.Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.rst"))]

#: where the output of the last python block is kept in a page's namespace
OUTPUT = "__printed__"


def _caption(example: Example) -> str | None:
    return example.region.lexemes.get("options", {}).get("caption")


def _save(example: Example) -> None:
    path = pathlib.Path(_caption(example))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(example.parsed, encoding="utf-8")


def _python(example: Example) -> str | None:
    if _caption(example):
        _save(example)
        return None
    source = "\n" * (example.line + example.parsed.line_offset) + example.parsed
    code = compile(source, example.path, "exec", dont_inherit=True)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, example.namespace)
    example.namespace.pop("__builtins__", None)
    example.namespace[OUTPUT] = printed.getvalue()
    return None


def _compare(shown: str, got: str, what: str) -> str | None:
    """Return why ``got`` does not match ``shown`` (``...`` matching anything), or None if it does."""
    shown = "\n".join(line.rstrip() for line in shown.strip("\n").splitlines()) + "\n"
    got = "\n".join(line.rstrip() for line in got.strip("\n").splitlines()) + "\n"
    if doctest.OutputChecker().check_output(shown, got, doctest.ELLIPSIS):
        return None
    return f"{what}: the page shows\n{shown}\nbut it printed\n{got}"


def _text(example: Example) -> str | None:
    if OUTPUT not in example.namespace:
        return "a text block must follow the python block whose output it shows"
    return _compare(example.parsed, example.namespace.pop(OUTPUT), "output of the python block above")


def _commands(block: str, *, prompt: bool) -> list[tuple[str, str]]:
    """Split a block into (command, shown output) pairs."""
    pairs: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if prompt and not line.startswith("$ "):
            if not pairs:
                raise ValueError(f"console block must start with '$ ', got {line!r}")
            pairs[-1][1].append(line)
        elif line.strip() and not line.lstrip().startswith("#"):
            pairs.append((line.removeprefix("$ "), []))
    return [(command, "\n".join(shown)) for command, shown in pairs]


def _invoke(command: str) -> tuple[int, str]:
    """Run one command in the current directory; return its exit status and its output."""
    argv = shlex.split(command)
    in_process = argv[0] in ("pykeen-backfill", "pykeen") and not any(char in command for char in "|&;<>$`")
    if not in_process:
        env = dict(os.environ, PATH=f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        completed = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, env=env, timeout=300, check=False
        )
        return completed.returncode, completed.stdout + completed.stderr
    if argv[0] == "pykeen":
        from pykeen.cli import main
    else:
        from pykeen_backfill.cli import main
    result = CliRunner().invoke(main, argv[1:], prog_name=argv[0])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _run_commands(example: Example, *, prompt: bool) -> str | None:
    for command, shown in _commands(example.parsed, prompt=prompt):
        if command.startswith("pip install"):
            return f"installing is not part of a page's examples; skip this block: {command}"
        status, output = _invoke(command)
        expected = 2 if shown.lstrip().startswith("Error:") else 0
        if status != expected:
            return f"{command!r} exited with {status}, not {expected}:\n{output[-3000:]}"
        if shown.strip():
            problem = _compare(shown, output, repr(command))
            if problem:
                return problem
    return None


def _console(example: Example) -> str | None:
    return _run_commands(example, prompt=True)


def _bash(example: Example) -> str | None:
    return _run_commands(example, prompt=False)


def _file(example: Example) -> str | None:
    if _caption(example):
        _save(example)
        return None
    language = example.region.lexemes["arguments"]
    try:
        {"json": json.loads, "yaml": yaml.safe_load}[language](str(example.parsed))
    except KeyError:
        return f"a {language} block needs a caption naming its file"
    except ValueError as error:
        # a fragment, e.g. one key of a configuration: it must at least be valid in its language
        return f"this {language} block does not parse: {error}"
    return None


#: a Markdown block that is a file to save: ```json title="grown.json"``` (GitHub highlights it by its first word)
TITLED = re.compile(r'(?P<language>json|yaml|toml) title="(?P<path>[^"]+)"')


class MarkdownFiles(MarkdownBlocks):
    """Markdown's form of a reST block with a caption: ``LANGUAGE title="PATH"``, saved to ``PATH``."""

    def __call__(self, document):
        for region in self.lexers(document):
            match = TITLED.fullmatch(region.lexemes["arguments"])
            if match:
                region.lexemes["arguments"] = match["language"]
                region.lexemes["options"] = {"caption": match["path"]}
                region.parsed = region.lexemes["source"]
                region.evaluator = _file
                yield region


def _parsers(blocks: type, skip: type) -> list:
    evaluators = {"python": _python, "text": _text, "console": _console, "bash": _bash, "shell": _bash}
    evaluators.update(dict.fromkeys(("json", "yaml", "toml"), _file))
    return [skip(), *(blocks(language, evaluator) for language, evaluator in evaluators.items())]


SYBILS = {
    ".md": Sybil(parsers=[*_parsers(MarkdownBlocks, MarkdownSkip), MarkdownFiles("file", _file)], path=str(ROOT)),
    ".rst": Sybil(parsers=_parsers(RestBlocks, RestSkip), path=str(ROOT)),
}


#: pages whose examples do not run as written yet, and why; strict: the test fails once a page runs, so that its entry
#: goes and the page stays tested


def _page_param(page: pathlib.Path):
    return pytest.param(page, id=page.name)


@pytest.mark.slow
@pytest.mark.parametrize("page", [_page_param(page) for page in PAGES])
def test_page_runs_as_written(page: pathlib.Path, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pykeen.nn import representation_resolver

    monkeypatch.chdir(tmp_path)
    # as for a script in the page's directory: that directory is found first, nothing of the source tree at all
    monkeypatch.setattr(sys, "path", [str(tmp_path), *(path for path in sys.path if path not in ("", ".", str(ROOT)))])
    # a page may register representations (the plugins page does): the other tests see PyKEEN's resolver as it was
    monkeypatch.setattr(representation_resolver, "lookup_dict", dict(representation_resolver.lookup_dict))
    document = SYBILS[page.suffix].parse(page)
    for example in document:
        example.evaluate()


def test_every_code_block_has_a_runner() -> None:
    """A block in a language this suite does not run would silently go untested: only these, or a skip, are allowed."""
    known = {"python", "text", "console", "bash", "shell", "json", "yaml", "toml", "none"}
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        if page.suffix == ".md":
            languages = [
                line[3:].split()[0] for line in text.splitlines() if line.startswith("```") and line[3:].strip()
            ]
        else:
            languages = [line.split("::", 1)[1].strip() for line in text.splitlines() if "code-block::" in line]
        assert set(languages) <= known, (page.name, set(languages) - known)


def _readme_commands() -> set[str]:
    """Return the commands of the README's table of commands."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Commands", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `pykeen-backfill (\w+)", section, flags=re.MULTILINE))


@pytest.mark.slow
def test_readme_lists_every_command_of_the_installed_script() -> None:
    """The table of commands names each command that ``pykeen-backfill --help`` lists, and no other."""
    script = pathlib.Path(sys.executable).with_name("pykeen-backfill")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "pykeen_backfill.cli"]
    completed = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    listed = completed.stdout.split("Commands:", 1)[1]
    assert set(re.findall(r"^  (\w+)", listed, flags=re.MULTILINE)) == _readme_commands()
