"""The built-in model baked into the image (a read-only seed directory) survives a fresh volume at the
data dir: it is loaded from the seed instead of being trained again."""

from __future__ import annotations

import os
import stat

from tasktracker.ai import builtin
from tasktracker.ai.builtin import BuiltinClassifier


def test_a_fresh_data_dir_takes_the_seed_model_without_training(tmp_path, monkeypatch) -> None:
    seed = tmp_path / "seed"
    BuiltinClassifier.load_or_train(seed)  # what the image build does
    for path in [seed, *seed.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))

    def no_training(*args, **kwargs):
        raise AssertionError("trained although the seed holds the model")

    monkeypatch.setattr(builtin.BuiltinModel, "fit", no_training)
    data = tmp_path / "volume"
    classifier = BuiltinClassifier.load_or_train(data, seed_dir=seed)
    assert classifier.path is not None and classifier.path.parent == data / "models"
    assert classifier.path.is_file()  # copied into the data dir, where retraining writes
    assert classifier.classify_batch(["the login page crashes with error 500"])[0].category


def test_a_seed_for_other_training_data_is_not_used(tmp_path, monkeypatch) -> None:
    seed = tmp_path / "seed"
    BuiltinClassifier.load_or_train(seed)
    (model,) = (seed / "models").glob("*.pkl")
    os.replace(model, model.with_name("builtin-0000000000000000.pkl"))  # a model of another version
    trained = []
    real_fit = builtin.BuiltinModel.fit
    monkeypatch.setattr(builtin.BuiltinModel, "fit", lambda *a, **k: trained.append(1) or real_fit(*a, **k))
    BuiltinClassifier.load_or_train(tmp_path / "volume", seed_dir=seed)
    assert trained == [1]
