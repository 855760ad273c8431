"""Values a model's initialisation must leave as they are: those of given parts and of parts whose values were chosen.

A PyKEEN model initialises itself by calling ``reset_parameters`` on every sub-module, deepest first, so the parts of a
backfill representation are reset before the representation itself. The representation therefore records, once, the
values such a part must keep (on the CPU, so that an accelerator holds no second copy) and writes them back in its own
``reset_parameters``, which runs last. The part itself, an object the caller may still hold, is never changed: its own
``reset_parameters`` keeps working as its class defines it.

A part initialised by a :class:`~pykeen.nn.init.PretrainedInitializer` declares its values through that initializer;
they are what is recorded, even where the part has not been initialised yet.
"""

from __future__ import annotations

import itertools

import torch
from pykeen.nn.init import PretrainedInitializer
from pykeen.nn.representation import Embedding
from torch import nn

__all__ = [
    "OwnedPretrainedInitializer",
    "Values",
    "declared_values",
    "own_initializers",
    "restore",
    "reproduces_itself",
]

#: a copy of each parameter and buffer of a part, by name
Values = dict[str, torch.Tensor]


class OwnedPretrainedInitializer(PretrainedInitializer):
    """A pre-trained initializer whose result is always a copy, never the given tensor itself.

    PyKEEN's initializer hands out its tensor as the embedding's weight; the next reset of the inner
    :class:`torch.nn.Embedding` then draws random numbers into that very tensor, and with it into the caller's.
    """

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Return a copy of the pre-trained tensor on the device and with the dtype of ``x``."""
        return super().__call__(x).clone()


def own_initializers(part: nn.Module) -> None:
    """Give every embedding of a part built here an initializer that copies its pre-trained tensor.

    :param part:
        A part built by this package (never one the caller passed in); the caller's initializer is left as it is.
    """
    for module in part.modules():
        initializer = getattr(module, "initializer", None)
        if isinstance(initializer, PretrainedInitializer) and not isinstance(initializer, OwnedPretrainedInitializer):
            module.initializer = OwnedPretrainedInitializer(tensor=initializer.tensor)


def reproduces_itself(part: nn.Module) -> bool:
    """Return whether resetting the part always yields the same values, so that nothing needs to be recorded.

    :param part:
        A part built by this package.

    :return:
        Whether the part is one embedding initialised from a copy of a pre-trained tensor.
    """
    return isinstance(part, Embedding) and isinstance(part.initializer, OwnedPretrainedInitializer)


def declared_values(part: nn.Module) -> Values:
    """Record the values a part must keep, without changing the part.

    :param part:
        The part.

    :return:
        A CPU copy of each parameter and buffer; for an embedding with a pre-trained initializer, the values that
        initializer gives. Tensors on the meta device hold no values and are left out.
    """
    declared = {
        f"{prefix}._embeddings.weight".lstrip("."): module
        for prefix, module in part.named_modules()
        if isinstance(module, Embedding) and isinstance(module.initializer, PretrainedInitializer)
    }
    values = {}
    for name, tensor in itertools.chain(part.named_parameters(), part.named_buffers()):
        if tensor.is_meta:
            continue
        # one copy per tensor: of the pre-trained values where an initializer declares them, else of the current ones
        module = declared.get(name)
        values[name] = _host_copy(tensor) if module is None else _initialised(module, tensor)
    return values


def _initialised(module: Embedding, weight: torch.Tensor) -> torch.Tensor:
    # what the embedding's own reset would store (see Embedding.reset_parameters); a pre-trained initializer reads only
    # the shape and dtype of its argument, never its values
    x = module.initializer(torch.empty_like(weight).view(module.max_id, *module._shape))
    return _host_copy(x.reshape(weight.shape))


def _host_copy(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.detach().to("cpu", copy=True)


def restore(part: nn.Module, values: Values) -> None:
    """Write recorded values back into a part, in place.

    :param part:
        The part.
    :param values:
        The values recorded by :func:`declared_values`.
    """
    tensors = dict(itertools.chain(part.named_parameters(), part.named_buffers()))
    with torch.no_grad():
        for name, value in values.items():
            tensor = tensors.get(name)
            if tensor is not None and not tensor.is_meta:
                tensor.copy_(value)
