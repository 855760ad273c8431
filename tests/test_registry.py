"""Registration of representation plugins in PyKEEN's resolver."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import pytest
from class_resolver import ClassResolver
from pykeen.nn import Embedding, representation_resolver
from pykeen.nn import representation as pykeen_representation
from pykeen.nn.representation import Representation

import pykeen_backfill
from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.errors import PluginConflictError
from pykeen_backfill.plugins.loader import Contribution, PluginWarning, _register, register_plugins
from pykeen_backfill.representation.mapped import MappedEmbedding


def _fresh_resolver() -> ClassResolver[Representation]:
    # built the way PyKEEN builds its own resolver
    skip = {pykeen_representation.CachedTextRepresentation}
    return ClassResolver.from_subclasses(base=Representation, default=Embedding, skip=skip)


def test_backfill_resolves_to_our_class() -> None:
    assert representation_resolver.lookup("backfill") is BackfillRepresentation
    assert representation_resolver.lookup("Backfill") is BackfillRepresentation
    assert representation_resolver.lookup(BackfillRepresentation) is BackfillRepresentation


def test_every_other_pykeen_entry_stays_as_it_was() -> None:
    reference = _fresh_resolver()
    for key, cls in reference.lookup_dict.items():
        if key == "backfill" or not cls.__module__.startswith("pykeen."):
            continue
        assert representation_resolver.lookup_dict[key] is cls, key
    assert representation_resolver.synonyms == reference.synonyms


def test_registration_is_idempotent() -> None:
    before = dict(representation_resolver.lookup_dict)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginWarning)
        register_plugins()
        register_plugins(strict=True)
    assert representation_resolver.lookup_dict == before


def test_registering_into_a_fresh_resolver_takes_only_our_two_keys() -> None:
    resolver = _fresh_resolver()
    before = dict(resolver.lookup_dict)
    registered = register_plugins(resolver, strict=True)
    assert [c.cls for c in registered] == [BackfillRepresentation, MappedEmbedding]
    changed = {key for key in resolver.lookup_dict if resolver.lookup_dict[key] is not before.get(key)}
    assert changed == {"backfill", "mappedembedding"}


class OtherRepresentation(Embedding):
    """A third-party representation."""


def _contribution(cls: type[Representation], plugin: str) -> Contribution:
    return Contribution(cls=cls, plugin=plugin, distribution=f"dist-{plugin}")


def test_a_clash_between_two_plugins_names_both() -> None:
    clone = type("OtherRepresentation", (Embedding,), {"__module__": "another.package"})
    resolver = _fresh_resolver()
    assert _register(resolver, _contribution(OtherRepresentation, "first"), strict=True)
    with pytest.raises(PluginConflictError, match="first") as info:
        _register(resolver, _contribution(clone, "second"), strict=True)
    assert "second" in str(info.value) and "'other'" in str(info.value)
    with pytest.warns(PluginWarning, match="clash"):
        assert not _register(resolver, _contribution(clone, "second"), strict=False)
    assert resolver.lookup("other") is OtherRepresentation


def test_a_plugin_takes_a_builtin_key_only_if_it_declares_it_supersedes_it() -> None:
    impostor = type("BackfillRepresentation", (Embedding,), {"__module__": "impostor"})
    resolver = _fresh_resolver()
    with pytest.raises(PluginConflictError, match="supersedes"):
        _register(resolver, _contribution(impostor, "impostor"), strict=True)
    assert resolver.lookup("backfill") is pykeen_representation.BackfillRepresentation


def _lookup_in_fresh_interpreter(**env: str) -> str:
    code = "from pykeen.nn import representation_resolver as r; print(r.lookup('backfill').__module__)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout.strip()


def test_installed_package_registers_without_an_import() -> None:
    assert _lookup_in_fresh_interpreter() == "pykeen_backfill.representation.backfill"


def test_environment_variable_switches_the_startup_hook_off() -> None:
    assert _lookup_in_fresh_interpreter(PYKEEN_BACKFILL_AUTOLOAD="0") == "pykeen.nn.representation"


def test_explicit_import_registers_even_when_switched_off() -> None:
    code = (
        "import pykeen_backfill\n"
        "from pykeen.nn import representation_resolver as r\n"
        "print(r.lookup('backfill').__module__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYKEEN_BACKFILL_AUTOLOAD": "0"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert result.stdout.strip() == "pykeen_backfill.representation.backfill"


def test_the_package_import_stays_light() -> None:
    code = "import sys, pykeen_backfill; print(sorted(m for m in ('torch', 'pykeen', 'typing') if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-S", "-c", f"import sys; sys.path[:0] = {sys.path!r}; {code}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == "[]", result.stdout
    assert pykeen_backfill.__version__


def test_a_new_key_is_registered_with_its_declared_synonyms_and_never_shadows_one() -> None:
    declared = type("ThirdPartyRepresentation", (Embedding,), {"__module__": "third.party", "synonyms": ("tpr",)})
    resolver = _fresh_resolver()
    assert _register(resolver, _contribution(declared, "third"), strict=True)
    assert resolver.lookup("thirdparty") is declared and resolver.lookup("tpr") is declared
    taken = type("Tpr", (Embedding,), {"__module__": "fourth.party"})
    with pytest.raises(PluginConflictError, match=r"'tpr' is a synonym of third\.party\.ThirdPartyRepresentation"):
        _register(resolver, _contribution(taken, "fourth"), strict=True)
    assert resolver.lookup("tpr") is declared
