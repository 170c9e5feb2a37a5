"""Sweeps: spec expansion, the SQLite store, exact results, resume after SIGKILL, Dask workers, the CLI."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optimlab
from optimlab import sweeps
from optimlab.cli import main
from optimlab.sweeps import spec as specs

SRC = str(Path(optimlab.__file__).parents[1])

SPEC = """
name = "demo"
seed = 3
chunk_size = 7
[optimizer]
name = "momentum"
[grid]
lr = {log = [1e-3, 3], num = 6}
[random]
samples = 3
momentum = {uniform = [0.0, 0.99]}
[loop]
seeds = [1, 2]
epochs = 3
schedule = {name = "lecture", after = 2, factor = 0.1}
"""


def write(tmp_path, text, name="spec.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_spec_expands_grid_random_seeds_into_chunks_of_one_seed():
    spec = specs.validate(__import__("tomllib").loads(SPEC))
    combos = spec.combinations()
    assert len(combos) == 6 * 3 and spec.num_configs == 36
    assert sorted({c["lr"] for c in combos}) == pytest.approx(np.geomspace(1e-3, 3, 6))
    # the random draws come from the spec's seed alone: the same three momenta in every lr row, in [0, 0.99)
    momenta = [c["momentum"] for c in combos[:3]]
    assert [c["momentum"] for c in combos[3:6]] == momenta and all(0 <= m < 0.99 for m in momenta)
    assert momenta == list(np.random.default_rng(3).uniform(0, 0.99, 3))
    chunks = spec.chunks()
    assert [len(c["rows"]) for c in chunks] == [7, 7, 4, 7, 7, 4]
    assert [c["seed"] for c in chunks] == [1, 1, 1, 2, 2, 2]
    assert [c["first"] for c in chunks] == [0, 7, 14, 18, 25, 32]


def test_identity_is_the_declaration_not_its_spelling():
    import tomllib

    a = specs.validate(tomllib.loads(SPEC))
    reordered = SPEC.replace('seed = 3\nchunk_size = 7', 'chunk_size = 7\nseed = 3')
    assert specs.validate(tomllib.loads(reordered)).id == a.id
    assert specs.validate(tomllib.loads(SPEC.replace("epochs = 3", "epochs = 4"))).id != a.id


BAD_SPECS = [  # (replace this, with that) in SPEC -> the error message must match
    ('name = "momentum"', 'name = "lbfgs"', "unknown optimizer 'lbfgs'"),
    ("num = 6", "num = 0", r"grid.lr.num must be an integer >= 1, got 0"),
    ("log = [1e-3, 3]", "log = [0, 3]", r"grid.lr.log must satisfy 0 < lo < hi"),
    ("log = [1e-3, 3]", "log = [-1e-3, 3]", r"grid.lr.log must satisfy 0 < lo < hi"),
    ("samples = 3", "samples = -1", r"random.samples must be an integer >= 1, got -1"),
    ("uniform = [0.0, 0.99]", "normal = [0.0, 0.99]", r"random.momentum must be \{uniform"),
    ("uniform = [0.0, 0.99]", "uniform = [0.0, 1.5]", r"momentum\[\d+\] must be in \[0, 1\), got"),
    ("seeds = [1, 2]", "seeds = [1, 1]", "loop.seeds must not repeat a seed"),
    ("seeds = [1, 2]", "seeds = []", "loop.seeds must be a positive integer"),
    ("epochs = 3", "epochs = 0", "loop.epochs must be an integer >= 1, got 0"),
    ("epochs = 3", "epoch = 3", "loop takes no setting 'epoch'"),
    ('name = "lecture"', 'name = "sawtooth"', "unknown schedule 'sawtooth'"),
    ("[grid]", "[grid]\nbeta1 = [0.9]", "momentum takes no hyperparameter 'beta1'"),
    ("[grid]", "[grid]\nmomentum = [0.9]", "hyperparameter 'momentum' is given twice"),
    ("seed = 3", "seed = 3\ncolor = 1", "spec takes no key 'color'"),
    ('name = "momentum"\n[grid]\nlr = {log = [1e-3, 3], num = 6}\n[random]\nsamples = 3\n'
     'momentum = {uniform = [0.0, 0.99]}', 'name = "adadelta"\n[grid]\nrho = [0.9, 0.99]',
     "adadelta has no learning rate, so loop.schedule must be constant, got lecture"),
    ('name = "momentum"', 'name = "momentum"\nmomentum = [0.5, 0.9]', "optimizer.momentum must be one number"),
    ('name = "momentum"', 'name = "momentum"\nmomentum = "high"', "optimizer.momentum must be a number"),
    ('[optimizer]\nname = "momentum"', '[optimizer]', r"spec needs \[optimizer\] with name"),
    ("[optimizer]", "[problem]\nseed = 2\n[optimizer]", r"\[problem\] needs name"),
    ("[optimizer]", "[problem]\nname = \"linear-regression\"\nsize = 3\n[optimizer]",
     "problem linear-regression takes no option 'size'"),
]


@pytest.mark.parametrize("old,new,message", BAD_SPECS)
def test_bad_specs_are_refused_with_one_line(tmp_path, capsys, old, new, message):
    import re

    assert old in SPEC
    path = write(tmp_path, SPEC.replace(old, new, 1))
    assert main(["sweep", "run", str(path), "--store", str(tmp_path / "store"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(message, err), err
    assert not (tmp_path / "store").exists()  # refused before any work: nothing written


def test_batch_size_larger_than_the_data_is_refused_before_any_chunk(tmp_path):
    path = write(tmp_path, SPEC.replace("epochs = 3", "epochs = 3\nbatch_size = 5000"))
    with pytest.raises(ValueError, match=r"batch_size must be in \[1, 1000\] for linear-regression, got 5000"):
        sweeps.run(specs.load(path), tmp_path / "store")


def test_each_stored_configuration_equals_its_own_train_call(tmp_path):
    spec = specs.load(write(tmp_path, SPEC))
    outcome = sweeps.run(spec, tmp_path / "store")
    assert (outcome["ran"], outcome["skipped"], outcome["configs"]) == (6, 0, 36)
    df = sweeps.load(tmp_path / "store")
    assert list(df.config) == list(range(36)) and {"lr", "momentum", "curve", "epoch_losses"} <= set(df.columns)
    problem = optimlab.problems.make("linear-regression")
    lecture = optimlab.schedules.make("lecture", after=2, factor=0.1)
    for i in (0, 5, 17, 20, 35):  # configurations from different chunks and seeds, one at a time
        row = df.iloc[i]
        run = optimlab.train(problem, optimlab.optim.make("momentum", lr=row.lr, momentum=row.momentum),
                             batch_size=10, epochs=3, schedule=lecture, seed=int(row.seed))
        # the chunk is one (K, P) call, this is (1, P): the BLAS may round the two shapes differently
        np.testing.assert_allclose(row.curve, run.losses, rtol=1e-10)
        assert row.diverged == run.diverged
        assert (None if row.diverged_at is pd.NA else row.diverged_at) == run.diverged_at
        np.testing.assert_allclose(row.epoch_losses, run.epoch_losses, rtol=1e-10)
        assert row.final_loss == pytest.approx(run.final_loss, rel=1e-10)
    # η = 3 is far past the stability bound 2(1+γ)/λ_max ≈ 1.9(1+γ) for every γ drawn: those diverge
    assert df[df.lr == 3].diverged.all() and not df[df.lr < 0.1].diverged.any()


def test_rerun_resumes_and_a_changed_spec_under_the_same_name_is_refused(tmp_path, capsys):
    path = write(tmp_path, SPEC)
    store = str(tmp_path / "store")
    assert main(["sweep", "run", str(path), "--store", store, "--quiet", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["sweep", "run", str(path), "--store", store, "--quiet", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (first["ran"], again["ran"], again["skipped"], again["sweep"]) == (6, 0, 6, first["sweep"])
    before = (tmp_path / "store" / "sweeps.sqlite").read_bytes()
    write(tmp_path, SPEC.replace("epochs = 3", "epochs = 4"))
    assert main(["sweep", "run", str(path), "--store", store, "--quiet"]) == 2
    assert "already holds a different sweep named 'demo'" in capsys.readouterr().err
    assert (tmp_path / "store" / "sweeps.sqlite").read_bytes() == before
    # under another name the changed spec is a new sweep in the same store
    write(tmp_path, SPEC.replace("epochs = 3", "epochs = 4").replace('name = "demo"', 'name = "demo-4"'))
    assert main(["sweep", "run", str(path), "--store", store, "--quiet"]) == 0
    assert len(sweeps.load(store, "demo-4")) == len(sweeps.load(store, "demo")) == 36


def test_show_lists_best_and_diverged_configurations(tmp_path, capsys):
    store = tmp_path / "store"
    sweeps.run(specs.load(write(tmp_path, SPEC)), store)
    assert main(["sweep", "show", "--store", str(store), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    df = sweeps.load(store)
    alive = df[~df.diverged].sort_values("final_loss")
    assert [b["config"] for b in shown["best"]] == list(alive.config[:5])
    assert sorted(d["config"] for d in shown["diverged"]) == sorted(df[df.diverged].config)
    assert all(d["lr"] == 3 or d["lr"] > 0.5 for d in shown["diverged"])
    assert shown["optimal_loss"] == optimlab.problems.make("linear-regression").optimal_loss
    prov = shown["provenance"]
    assert prov["seed"] == 3 and prov["spec"]["name"] == "demo" and len(prov["data_sha256"]) == 64
    assert prov["problem"]["data"] == "lecture synthetic" and prov["versions"]["numpy"] == np.__version__
    assert main(["sweep", "show", "--store", str(store)]) == 0
    text = capsys.readouterr().out
    assert "36/36 configurations stored" in text and "diverged: " in text
    assert main(["sweep", "show", "--store", str(tmp_path / "nowhere")]) == 2
    assert "no sweep store in" in capsys.readouterr().err


KILL_SPEC = """
name = "kill"
chunk_size = 5
[optimizer]
name = "sgd"
[grid]
lr = {log = [1e-3, 3], num = 20}
[loop]
seeds = 10
epochs = 1
batch_size = 1
"""


def _stored_chunks(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=10) as con:
            return con.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    except sqlite3.OperationalError:  # the file or its tables are not there yet
        return 0


def test_sigkill_mid_sweep_then_resume_equals_an_uninterrupted_sweep(tmp_path):
    path = write(tmp_path, KILL_SPEC)
    store = tmp_path / "killed"
    command = [sys.executable, "-m", "optimlab", "sweep", "run", str(path), "--store", str(store), "--quiet"]
    env = {**os.environ, "PYTHONPATH": SRC}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _stored_chunks(store / "sweeps.sqlite") < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = _stored_chunks(store / "sweeps.sqlite")
    assert process.returncode == -signal.SIGKILL and 3 <= killed_at < 40, (killed_at, process.stderr.read())

    resumed = subprocess.run(command + ["--json"], env=env, capture_output=True, text=True, check=True)
    outcome = json.loads(resumed.stdout)
    assert outcome["skipped"] == killed_at and outcome["ran"] == 40 - killed_at

    sweeps.run(specs.load(path), tmp_path / "whole")
    a, b = sweeps.load(store), sweeps.load(tmp_path / "whole")
    with sqlite3.connect(store / "sweeps.sqlite") as con:  # every configuration exactly once
        assert con.execute("SELECT COUNT(*), COUNT(DISTINCT config) FROM results").fetchone() == (200, 200)
    assert list(a.config) == list(range(200))
    for column in ("seed", "lr", "diverged", "chunk"):
        assert list(a[column]) == list(b[column])
    assert all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a.curve, b.curve))  # bit for bit
    assert np.array_equal(a.final_loss, b.final_loss, equal_nan=True)


def test_two_dask_workers_give_the_serial_results(tmp_path):
    pytest.importorskip("distributed")
    path = write(tmp_path, SPEC)
    sweeps.run(specs.load(path), tmp_path / "serial")
    outcome = sweeps.run(specs.load(path), tmp_path / "dask", workers=2)
    assert outcome["ran"] == 6
    a, b = sweeps.load(tmp_path / "serial"), sweeps.load(tmp_path / "dask")
    assert list(a.config) == list(b.config) == list(range(36))
    assert all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a.curve, b.curve))
    assert list(a.momentum) == list(b.momentum) and list(a.diverged) == list(b.diverged)


CLI_ERRORS = [  # arguments after `optimlab sweep` -> the one-line error
    (["run", "SPEC", "--store", "STORE", "--workers", "0"], "workers must be an integer >= 1, got 0"),
    (["run", "SPEC", "--store", "STORE", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not allowed with"),
    (["run", "missing.toml", "--store", "STORE"], "missing.toml"),
    (["show", "--store", "STORE", "--top", "0"], "top must be an integer >= 1, got 0"),
]


@pytest.mark.parametrize("argv,message", CLI_ERRORS)
def test_bad_sweep_arguments(tmp_path, capsys, argv, message):
    spec = write(tmp_path, SPEC)
    if argv[0] == "show":
        sweeps.run(specs.load(spec), tmp_path / "STORE")
    argv = [str(tmp_path / a) if a in ("SPEC", "STORE", "missing.toml") else a for a in argv]
    argv = [str(spec) if a.endswith("SPEC") else a for a in argv]
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["sweep"] + argv + ["--quiet"] * (argv[0] == "run")) in (1, 2)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_the_cli_and_the_package_import_no_heavy_extra():
    code = ("import sys, optimlab, optimlab.sweeps, optimlab.cli; optimlab.cli.parser(); "
            "print(sorted(m for m in ('pandas', 'dask', 'optuna', 'distributed') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": SRC}, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


def test_an_existing_dask_cluster_by_its_address_gives_the_serial_results(tmp_path):
    distributed = pytest.importorskip("distributed")
    path = write(tmp_path, SPEC)
    sweeps.run(specs.load(path), tmp_path / "serial")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        outcome = sweeps.run(specs.load(path), tmp_path / "remote", scheduler=cluster.scheduler_address)
    assert outcome["ran"] == 6
    a, b = sweeps.load(tmp_path / "serial"), sweeps.load(tmp_path / "remote")
    assert all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a.curve, b.curve))


def test_a_sweep_of_one_configuration_and_a_chunk_stored_twice(tmp_path):
    path = write(tmp_path, 'name = "one"\n[optimizer]\nname = "sgd"\nlr = 0.1\n[loop]\nepochs = 2\n')
    spec = specs.load(path)
    assert spec.num_configs == 1 and sweeps.run(spec, tmp_path / "store")["ran"] == 1
    row = sweeps.load(tmp_path / "store").iloc[0]
    run = optimlab.train(optimlab.problems.make("linear-regression"), optimlab.optim.make("sgd", lr=0.1), epochs=2)
    np.testing.assert_allclose(row.epoch_losses, run.epoch_losses, rtol=1e-10)
    assert row.epoch_losses.shape == (2,) and row.lr == 0.1
    from optimlab.sweeps.runner import run_chunk
    from optimlab.sweeps.store import Store

    with Store(tmp_path / "store") as store:  # as when two processes run the same sweep: the second write is a no-op
        result = run_chunk(spec.data, 0)
        assert store.write_chunk(spec.id, 0, result["seconds"], result["results"]) is False
        assert len(store.results(spec.id)) == 1
