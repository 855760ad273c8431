"""Nothing is lost: state dicts, whole pickled models in a fresh process, devices, and killed-and-resumed training."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
import torch
from pykeen.datasets import Nations
from pykeen.models import DistMult
from pykeen.pipeline import pipeline

from pykeen_backfill import BackfillRepresentation

WORKER = pathlib.Path(__file__).with_name("persistence_worker.py")


def _worker(*args: object) -> list[str]:
    return [sys.executable, str(WORKER), *map(str, args)]


def _run(*args: object, timeout: float = 120) -> None:
    done = subprocess.run(_worker(*args), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]


def _representation(seed: int) -> BackfillRepresentation:
    torch.manual_seed(seed)
    return BackfillRepresentation(max_id=20, sources=[dict(ids=[7, 3, 12]), dict(ids=[0, 19])], shape=(2, 3))


def test_state_dict_round_trip_into_a_fresh_instance() -> None:
    trained, fresh = _representation(seed=0), _representation(seed=1)
    everything = torch.arange(20)
    assert not torch.equal(trained(everything), fresh(everything))
    state = trained.state_dict()
    # the id layout travels with the weights
    assert {"position", "order"} <= set(state)
    fresh.load_state_dict(state)
    assert torch.equal(fresh(everything), trained(everything))
    assert torch.equal(fresh(None), trained(None))


def test_state_dict_carries_the_layout_into_an_instance_built_with_other_ids() -> None:
    trained = _representation(seed=0)
    torch.manual_seed(2)
    other = BackfillRepresentation(max_id=20, sources=[dict(ids=[1, 2, 4]), dict(ids=[5, 6])], shape=(2, 3))
    other.load_state_dict(trained.state_dict())
    assert torch.equal(other(torch.arange(20)), trained(torch.arange(20)))
    assert torch.equal(other.base_ids, trained.base_ids)


def test_model_state_dict_round_trip() -> None:
    factory = Nations().training
    kwargs = dict(
        triples_factory=factory,
        embedding_dim=4,
        entity_representations="backfill",
        entity_representations_kwargs=dict(base_ids=[3, 1, 4], base_kwargs=dict(trainable=False)),
    )
    model, fresh = DistMult(**kwargs, random_seed=0), DistMult(**kwargs, random_seed=1)
    triples = factory.mapped_triples[:50]
    assert not torch.equal(model.score_hrt(triples), fresh.score_hrt(triples))
    fresh.load_state_dict(model.state_dict())
    assert torch.equal(fresh.score_hrt(triples), model.score_hrt(triples))


def test_to_moves_every_index_buffer() -> None:
    rep = _representation(seed=0)
    names = {name for name, _ in rep.named_buffers()}
    assert {"position", "order"} <= names
    # no tensor is kept outside the registered buffers and parameters, where .to() would miss it
    loose = [key for key, value in vars(rep).items() if isinstance(value, torch.Tensor)]
    assert loose == []
    moved = rep.to(torch.device("meta"))
    assert moved is rep
    assert all(buffer.device.type == "meta" for buffer in rep.buffers())
    assert all(parameter.device.type == "meta" for parameter in rep.parameters())
    # shapes can be inferred without any data
    assert rep(torch.zeros(4, 5, dtype=torch.long, device="meta")).shape == (4, 5, 2, 3)
    assert rep(None).shape == (20, 2, 3)


def test_dtype_conversion_keeps_the_index_intact() -> None:
    rep = _representation(seed=0)
    expected = rep(torch.arange(20)).double()
    rep.double()
    assert rep.position.dtype == torch.int32 and rep.order.dtype == torch.int32
    assert torch.equal(rep(torch.arange(20)), expected)


def test_whole_model_reloads_in_a_fresh_process(tmp_path: pathlib.Path) -> None:
    result = pipeline(
        dataset="nations",
        model="DistMult",
        model_kwargs=dict(
            embedding_dim=4,
            entity_representations="backfill",
            entity_representations_kwargs=dict(base_ids=[5, 0, 8], base_kwargs=dict(trainable=False)),
        ),
        training_kwargs=dict(num_epochs=2, batch_size=256),
        evaluation_kwargs=dict(batch_size=256),
        random_seed=7,
    )
    result.save_to_directory(tmp_path)
    model = result.model.eval()
    with torch.no_grad():
        scores = model.score_hrt(Nations().testing.mapped_triples)
        entities = model.entity_representations[0](indices=None)
    outputs = tmp_path / "outputs.pt"
    # switch the start-up hook off: unpickling must not depend on registration
    env = dict(os.environ, PYKEEN_BACKFILL_AUTOLOAD="0")
    done = subprocess.run(
        _worker("reload", tmp_path / "trained_model.pkl", outputs), capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    reloaded = torch.load(outputs)
    assert reloaded["type"] == "pykeen_backfill.representation.backfill"
    assert torch.equal(reloaded["entities"], entities)
    assert torch.equal(reloaded["scores"], scores)


@pytest.mark.slow
def test_training_killed_and_resumed_ends_equal_to_an_uninterrupted_run(tmp_path: pathlib.Path) -> None:
    from persistence_worker import NUM_EPOCHS, STALL_AFTER_EPOCH, pretrained

    straight_dir, crashed_dir = tmp_path / "straight", tmp_path / "crashed"
    marker = tmp_path / "stalled"
    # both start at once: the uninterrupted run needs no coordination
    straight_log = tmp_path / "straight.log"
    with straight_log.open("w") as log:
        straight = subprocess.Popen(_worker("train", straight_dir, tmp_path / "straight.pt"), stderr=log)
    crashing = subprocess.Popen(_worker("stall", crashed_dir, tmp_path / "never.pt", marker), stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert crashing.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "the run never reached the epoch to be killed in"
            time.sleep(0.05)
        crashing.send_signal(signal.SIGKILL)
        assert crashing.wait(timeout=30) == -signal.SIGKILL
    finally:
        crashing.kill()
    checkpoint = torch.load(crashed_dir / "checkpoint.pt", weights_only=False)
    # killed part-way: one epoch's updates were lost with the process, the rest of the run had not happened
    assert checkpoint["epoch"] == STALL_AFTER_EPOCH - 1 < NUM_EPOCHS
    assert not (tmp_path / "never.pt").exists()

    _run("train", crashed_dir, tmp_path / "resumed.pt")
    assert straight.wait(timeout=120) == 0, straight_log.read_text()[-3000:]

    resumed, uninterrupted = torch.load(tmp_path / "resumed.pt"), torch.load(tmp_path / "straight.pt")
    assert resumed["losses"] == uninterrupted["losses"] and len(resumed["losses"]) == NUM_EPOCHS
    assert resumed["state"].keys() == uninterrupted["state"].keys()
    for key, value in uninterrupted["state"].items():
        # bit for bit: the checkpoint restores weights, optimizer moments and every random generator state
        assert torch.equal(resumed["state"][key], value), key
    # the frozen base is still exactly the pre-trained tensor, and was never given to the optimizer
    base_weight = next(value for key, value in resumed["state"].items() if ".bases.0." in key)
    assert torch.equal(base_weight, pretrained())
    assert not any(".bases.0." in name for name in resumed["trainable"])


def test_a_pretrained_base_survives_the_reset_before_training() -> None:
    from pykeen.nn.init import PretrainedInitializer

    pretrained = torch.randn(3, 4)
    original = pretrained.clone()
    result = pipeline(
        dataset="nations",
        model="DistMult",
        model_kwargs=dict(
            embedding_dim=4,
            entity_representations="backfill",
            entity_representations_kwargs=dict(
                base_ids=[6, 2, 9],
                base_kwargs=dict(initializer=PretrainedInitializer(pretrained), trainable=False),
            ),
        ),
        training_kwargs=dict(num_epochs=1, batch_size=256),
        evaluation_kwargs=dict(batch_size=256),
        random_seed=3,
    )
    rep = result.model.entity_representations[0]
    # a training loop resets the model before it starts; the pre-trained rows must come through it unchanged
    assert torch.equal(rep(torch.tensor([6, 2, 9])), original)
    assert torch.equal(pretrained, original)
