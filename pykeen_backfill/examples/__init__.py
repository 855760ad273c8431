"""Example experiment configurations, shipped with the package: DistMult, TransE and the interaction form on nations.

They run in seconds (two epochs on nations, which PyKEEN ships) and are the ones the documentation shows. Write them
to a directory of your choice with ``pykeen-backfill examples DIR`` (or :func:`write_examples`), or read them where
they are installed, :func:`example_path`:

- ``distmult_backfill.json`` and ``distmult_backfill.yaml``: the same DistMult run, for ``pykeen experiments run`` and
  :func:`pykeen.pipeline.pipeline_from_path`;
- ``transe_backfill.json`` and ``interaction_backfill.yaml``: forms PyKEEN's constructors refuse, for
  ``pykeen-backfill run``.
"""

from __future__ import annotations

import os
import pathlib

from ..checks import as_bool

__all__ = ["EXAMPLES", "example_path", "write_examples"]

#: the directory of the example files, inside the installed package
DIRECTORY = pathlib.Path(__file__).parent

#: the names of the example files
EXAMPLES = ("distmult_backfill.json", "distmult_backfill.yaml", "transe_backfill.json", "interaction_backfill.yaml")


def example_path(name: str) -> pathlib.Path:
    """Return the installed path of an example configuration.

    :param name:
        One of :data:`EXAMPLES`.

    :return:
        The path of the file inside the installed package.

    :raises KeyError:
        If there is no example of this name.
    """
    if name not in EXAMPLES:
        raise KeyError(f"name={name!r} is not one of the examples {list(EXAMPLES)}")
    return DIRECTORY / name


def write_examples(directory: str | os.PathLike[str], *, overwrite: bool = False) -> list[pathlib.Path]:
    """Write the example configurations into a directory, creating it if needed.

    :param directory:
        Where to write them.
    :param overwrite:
        Whether to replace files of the same names that differ from the examples; without it they are kept, and
        an error names them before anything is written.

    :return:
        The paths written, in the order of :data:`EXAMPLES`.

    :raises FileExistsError:
        If a file of an example's name exists with other content and ``overwrite`` is false.
    """
    overwrite = as_bool(overwrite, name="overwrite")
    directory = pathlib.Path(directory)
    texts = {name: example_path(name).read_bytes() for name in EXAMPLES}
    clashes = [
        name
        for name, text in texts.items()
        if (directory / name).exists() and (not (directory / name).is_file() or (directory / name).read_bytes() != text)
    ]
    if clashes and not overwrite:
        raise FileExistsError(f"{directory} already has other files named {', '.join(clashes)}; not overwritten")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in texts.items():
        (directory / name).write_bytes(text)
        written.append(directory / name)
    return written
