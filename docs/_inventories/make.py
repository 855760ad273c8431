"""Write the Sphinx inventories of Python, PyTorch, PyKEEN, NumPy and click that ``docs/conf.py`` links to.

The documentation builds offline (CI has no internet), so ``intersphinx`` cannot download each project's
``objects.inv``. This script writes equivalent inventories from the installed packages instead: it walks each
project's public modules and gives every public class, function and datum the address that the project's own
documentation uses for it (e.g. PyKEEN's ``api/pykeen.models.DistMult.html#pykeen.models.DistMult``). An object is
listed under its public name and under the name its ``__module__`` gives it, which is the name autodoc writes for a
base class or a type hint (``torch.nn.modules.module.Module`` is ``torch.nn.Module``).

Run it after upgrading one of these packages, and commit its output::

    python docs/_inventories/make.py
"""

from __future__ import annotations

import builtins
import dataclasses
import importlib
import inspect
import pathlib
import zlib
from collections.abc import Callable, Iterator

HERE = pathlib.Path(__file__).parent

#: an entry: (name, role, address relative to the project's documentation root)
Entry = tuple[str, str, str]


@dataclasses.dataclass
class Project:
    """A project's public modules and how its documentation addresses an object of each."""

    #: the project's name, as in the inventory's header
    name: str
    #: the distribution whose version the inventory states; empty for Python itself
    distribution: str
    #: the modules whose public names are documented
    modules: list[str]
    #: the address of an object's page, from its module's and its own name
    page: Callable[[str, str], str]
    #: whether every public name of a module is documented, not only those of its ``__all__``
    every_name: bool = False
    #: entries documented outside the pages of the modules above
    extra: tuple[Entry, ...] = ()


def _role(obj: object) -> str | None:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if inspect.isroutine(obj) or callable(obj):
        return "function"
    if inspect.ismodule(obj):
        return None
    return "data"


def _public_names(module: object, every_name: bool) -> list[str]:
    names = list(getattr(module, "__all__", []))
    if every_name or not hasattr(module, "__all__"):
        names += [name for name in vars(module) if not name.startswith("_") and name not in names]
    return [name for name in names if hasattr(module, name)]


def _members(cls: type, name: str, address: str) -> Iterator[Entry]:
    """The public methods and attributes a class defines itself, on its own page (PyTorch's tensor: a page each)."""
    page = address.split("#", 1)[0]
    # a tensor's methods are defined in C, on its base class, and documented on the tensor
    defined = {member: getattr(cls, member) for member in dir(cls)} if name == "torch.Tensor" else vars(cls)
    for member, value in defined.items():
        if member.startswith("_"):
            continue
        if isinstance(value, property):
            role = "property"
        elif inspect.isroutine(value) or isinstance(value, (classmethod, staticmethod)):
            role = "method"
        else:
            role = "attribute"
        own_page = f"generated/{name}.{member}.html" if name == "torch.Tensor" else page
        yield f"{name}.{member}", role, f"{own_page}#{name}.{member}"


def _entries(project: Project) -> Iterator[Entry]:
    yield from project.extra
    for module_name in project.modules:
        module = importlib.import_module(module_name)
        if module_name != "builtins":
            yield module_name, "module", project.page(module_name, "")
        for name in _public_names(module, project.every_name):
            # the builtins go by their bare names
            full = name if module_name == "builtins" else f"{module_name}.{name}"
            obj = getattr(module, name)
            role = _role(obj)
            if role is None:
                continue
            address = project.page(module_name, name)
            yield full, role, address
            if role in ("class", "exception"):
                yield from _members(obj, full, address)
            # the name autodoc writes for a base class or a type hint, at the public name's address
            own = f"{getattr(obj, '__module__', None)}.{getattr(obj, '__qualname__', '')}"
            if role != "data" and own != full and "<" not in own and not own.startswith(("None.", "builtins.")):
                yield own, role, address
                if role in ("class", "exception"):
                    yield from ((f"{own}{n[len(full) :]}", r, a) for n, r, a in _members(obj, full, address))


def _write(project: Project, path: pathlib.Path) -> int:
    import platform
    from importlib.metadata import version

    seen: dict[tuple[str, str], str] = {}
    for name, role, address in _entries(project):
        seen.setdefault((name, role), address)
    lines = [f"{name} py:{role} 1 {address} -" for (name, role), address in sorted(seen.items())]
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project.name}\n"
        f"# Version: {version(project.distribution) if project.distribution else platform.python_version()}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    path.write_bytes(header.encode() + zlib.compress(("\n".join(lines) + "\n").encode(), 9))
    return len(lines)


def _python_page(module: str, name: str) -> str:
    if module != "builtins":
        return f"library/{module}.html#{module}.{name}" if name else f"library/{module}.html#module-{module}"
    obj = getattr(builtins, name, None)
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return f"library/exceptions.html#{name}"
    if name in {"str", "list", "dict", "set", "frozenset", "tuple", "range", "bytes", "bytearray", "memoryview"}:
        return f"library/stdtypes.html#{name}"
    if name in {"None", "True", "False", "Ellipsis", "NotImplemented"}:
        return f"library/constants.html#{name}"
    return f"library/functions.html#{name}"


#: PyTorch's pages of whole modules, where the module's name is not the page's
_TORCH_MODULE_PAGES = {"torch": "torch.html", "torch.utils.data": "data.html", "torch.nn.parallel": "nn.html"}


def _torch_page(module: str, name: str) -> str:
    full = f"{module}.{name}" if name else module
    if not name:
        return _TORCH_MODULE_PAGES.get(module, f"{module.removeprefix('torch.')}.html")
    if full in {"torch.dtype", "torch.device", "torch.layout", "torch.memory_format"}:
        return f"tensor_attributes.html#{full}"
    if full == "torch.Tensor":
        return "tensors.html#torch.Tensor"
    if module == "torch.utils.data":
        return f"data.html#{full}"
    if module == "torch.distributed":
        return f"distributed.html#{full}"
    return f"generated/{full}.html#{full}"


PROJECTS = {
    "python": Project(
        name="Python",
        distribution="",
        modules=[
            "builtins",
            "collections.abc",
            "contextlib",
            "contextvars",
            "dataclasses",
            "gc",
            "importlib",
            "io",
            "json",
            "os",
            "pathlib",
            "pickle",
            "site",
            "sys",
            "types",
            "typing",
            "warnings",
        ],
        page=_python_page,
        every_name=True,
    ),
    "torch": Project(
        name="PyTorch",
        distribution="torch",
        modules=[
            "torch",
            "torch.nn",
            "torch.nn.functional",
            "torch.nn.parallel",
            "torch.autograd",
            "torch.optim",
            "torch.utils.data",
            "torch.distributed",
        ],
        page=_torch_page,
    ),
    "pykeen": Project(
        name="PyKEEN",
        distribution="pykeen",
        modules=[
            "pykeen.contrib.lightning",
            "pykeen.datasets",
            "pykeen.evaluation",
            "pykeen.hpo",
            "pykeen.losses",
            "pykeen.models",
            "pykeen.nn.init",
            "pykeen.nn.message_passing",
            "pykeen.nn.modules",
            "pykeen.nn.representation",
            "pykeen.pipeline",
            "pykeen.regularizers",
            "pykeen.stoppers",
            "pykeen.training",
            "pykeen.training.callbacks",
            "pykeen.triples",
        ],
        # PyKEEN's reference documents each module with automodapi: a page per object under api/
        page=lambda module, name: f"api/{module}.{name}.html#{module}.{name}" if name else f"api/{module}.html",
        extra=(("pykeen.nn", "module", "reference/nn/index.html#module-pykeen.nn"),),
    ),
    "numpy": Project(
        name="NumPy",
        distribution="numpy",
        modules=["numpy"],
        page=lambda module, name: f"reference/generated/{module}.{name}.html#{module}.{name}" if name else "",
    ),
    "class_resolver": Project(
        name="class-resolver",
        distribution="class-resolver",
        modules=["class_resolver"],
        page=lambda module, name: f"api/{module}.{name}.html#{module}.{name}" if name else "",
    ),
    "click": Project(
        name="Click",
        distribution="click",
        modules=["click"],
        # click's API reference is one page
        page=lambda module, name: f"api/#{module}.{name}" if name else "api/",
    ),
}


def main() -> None:
    """Write ``docs/_inventories/NAME.inv`` for every project."""
    for key, project in PROJECTS.items():
        count = _write(project, HERE / f"{key}.inv")
        print(f"wrote {key}.inv: {count} entries")


if __name__ == "__main__":
    main()
