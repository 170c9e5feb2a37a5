"""The command line, called in-process: what a user sees and gets."""

import json
import re

import numpy as np
import pytest

import optimlab
import optimlab.cli.train
from optimlab.cli import main

LECTURE_CALL = "train --optimizer sgd --batch-size 1 --lr 0.1 --epochs 5 --period 10 --decay-after 2 --decay-factor 0.1"
LINE = re.compile(r"^Batch size 1, Learning rate (\d+\.\d{6}), Epoch (\d), loss (\d\.\d{4}e[+-]\d\d)$")


def call(capsys, args):
    status = main(args.split())
    out = capsys.readouterr()
    return status, out.out, out.err


def test_train_prints_the_lecture_lines_and_writes_the_figure(capsys, tmp_path):
    status, out, err = call(capsys, f"{LECTURE_CALL} --plot {tmp_path / 'loss.png'}")
    assert status == 0 and err == ""
    epochs = [LINE.match(line) for line in out.splitlines() if line.startswith("Batch size")]
    assert all(epochs) and len(epochs) == 5
    assert [m.group(1) for m in epochs] == ["0.100000", "0.100000", "0.010000", "0.001000", "0.000100"]
    # the printed numbers are the API's
    run = optimlab.train(optimlab.problems.make("linear-regression", seed=1), optimlab.optim.make("sgd", lr=0.1),
                         batch_size=1, epochs=5, period=10, schedule=optimlab.schedules.make("lecture"))
    assert [float(m.group(3)) for m in epochs] == [float(f"{x:.4e}") for x in run.epoch_losses]
    assert re.search(r"^w: \[ ?1\.99\d\d -3\.40\d\d\] b: 4\.\d{4}$", out, re.M)
    png = (tmp_path / "loss.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_json_has_every_field(capsys):
    status, out, _ = call(capsys, f"{LECTURE_CALL} --json")
    data = json.loads(out)
    for key in ["optimizer", "hyperparameters", "batch_size", "epochs", "period", "seed", "losses", "epochs_axis",
                "final_loss", "optimal_loss", "w", "b", "diverged", "diverged_at", "seconds"]:
        assert key in data, key
    assert status == 0 and data["hyperparameters"] == {"lr": 0.1} and len(data["losses"]) == 506  # 1 + 5 × 101
    assert data["final_loss"] < 1.1 * data["optimal_loss"] and data["diverged"] is False
    assert data["provenance"]["versions"]["numpy"] == np.__version__


def test_lists_train_configurations_together(capsys):
    status, out, _ = call(capsys, "train --lr 0.01,0.1,3 --epochs 3 --json")
    data = json.loads(out)
    assert status == 0
    assert [h["lr"] for h in data["hyperparameters"]] == [0.01, 0.1, 3.0]
    assert data["diverged"] == [False, False, True] and data["diverged_at"][2] > 0
    assert len(data["losses"]) == 3 and len(data["w"]) == 3 and data["final_loss"][2] is not None


def test_grid_crosses_lists(capsys):
    status, out, _ = call(capsys, "train --optimizer momentum --lr 0.1,0.2 --momentum 0,0.9 --grid --epochs 1 --json")
    pairs = [(h["lr"], h["momentum"]) for h in json.loads(out)["hyperparameters"]]
    assert pairs == [(0.1, 0.0), (0.1, 0.9), (0.2, 0.0), (0.2, 0.9)]


def test_diverged_run_exits_0_and_says_where(capsys):
    status, out, _ = call(capsys, "train --lr 3 --decay-after 2")
    assert status == 0
    assert re.search(r"diverged after \d+ examples", out)


def test_optimizers_lists_rules_defaults_and_ranges(capsys):
    status, out, _ = call(capsys, "optimizers")
    assert status == 0
    for name in optimlab.optim.OPTIMIZERS:
        assert re.search(rf"^{name}: ", out, re.M)
    assert "v := γ v + η g" in out and "x := x − η v̂ / (√ŝ + ε)" in out
    assert re.search(r"--beta2\s+β2\s+default 0\.999\s+in \[0, 1\)", out)
    status, out, _ = call(capsys, "optimizers adagrad --json")
    info = json.loads(out)[0]
    assert info["hyperparameters"]["eps"] == {"symbol": "ε", "default": 1e-7, "range": "> 0",
                                              "meaning": "numerical-stability term"}


def test_other_problems_and_user_data(capsys, tmp_path):
    status, out, _ = call(capsys, "train --problem quadratic-2d --batch-size 1 --epochs 20 --lr 0.4 --json")
    assert status == 0 and json.loads(out)["x"] is not None
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    np.savez(tmp_path / "mine.npz", X=X, y=X @ [1.0, -1.0] + 0.5)
    status, out, _ = call(capsys, f"train --data {tmp_path / 'mine.npz'} --batch-size 4 --epochs 30 --json")
    data = json.loads(out)
    assert status == 0 and abs(data["b"] - 0.5) < 1e-3


def test_catalog_commands(capsys):
    assert call(capsys, "schedules")[1].count("\n") >= 6
    assert "quadratic-2d" in call(capsys, "problems")[1]


# -- nothing of the user's lost or half-written ---------------------------------------------------------------------
def _doc(folder):
    return json.loads((folder / "results.json").read_text(encoding="utf-8"))


def test_report_keeps_user_files_and_only_updates_entries(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["reproduce", "--only", "taylor-x2", "--out", str(out), "--quiet"]) == 0
    (out / "my-notes.txt").write_text("mine")
    (out / "mydir").mkdir()
    (out / "mydir" / "data.csv").write_text("1,2\n")
    manifest = json.loads((out / "optimlab-manifest.json").read_text())
    assert sorted(manifest["files"]) == ["index.html", "optimlab-manifest.json", "results.json", "taylor-x2.png"]
    capsys.readouterr()
    assert main(["reproduce", "--only", "quartic-start", "--out", str(out), "--quiet"]) == 0
    assert "(2 entries: 1 kept from the earlier report)" in capsys.readouterr().out
    assert (out / "my-notes.txt").read_text() == "mine" and (out / "mydir" / "data.csv").exists()
    doc = _doc(out)
    assert [f["name"] for f in doc["figures"]] == ["taylor-x2", "quartic-start"]  # kept, in the lecture's order
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 2 and "id='taylor-x2'" in page and "id='quartic-start'" in page
    assert "2 of 2 claims hold" in page
    # another seed into the same report is refused, before any work, and changes nothing
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert main(["reproduce", "--only", "taylor-x2", "--seed", "3", "--out", str(out)]) == 2
    assert "made with seed 1; --only with seed 3 would mix seeds" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_report_deletes_only_files_its_manifest_lists(tmp_path):
    from optimlab import lecture
    from optimlab.lecture.report import MANIFEST

    out = tmp_path / "r"
    report = lecture.reproduce(only=["taylor-x2"])
    lecture.write_report(report, out, workers=1)
    (out / "stale.png").write_bytes(b"an earlier report's figure")
    (out / "user.png").write_bytes(b"the user's own figure")
    manifest = json.loads((out / MANIFEST).read_text())
    (out / MANIFEST).write_text(json.dumps({**manifest, "files": manifest["files"] + ["stale.png", "../outside"]}))
    (tmp_path / "outside").write_text("not the report's")
    lecture.write_report(report, out, workers=1, merge_with_existing=False)
    assert not (out / "stale.png").exists()  # listed: the report's own, no longer needed
    assert (out / "user.png").exists() and (tmp_path / "outside").exists()  # never listed, or outside the folder


def test_outputs_are_checked_before_work_and_written_together(tmp_path, capsys, monkeypatch):
    from optimlab import files

    monkeypatch.chdir(tmp_path)
    calls = []
    monkeypatch.setattr(optimlab.cli.train, "train", lambda *a, **k: calls.append(1))
    assert main(["train", "--save", "run.json", "--plot", "missing/curves.png"]) == 2
    assert calls == [] and "--plot 'missing/curves.png': the folder 'missing' does not exist" in capsys.readouterr().err
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)

    def broken(fig, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "figure_bytes", broken)
    assert main(["train", "--epochs", "1", "--save", "run.json", "--plot", "curves.png"]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # --save not left behind when --plot fails


def test_write_all_leaves_nothing_when_one_file_fails(tmp_path, monkeypatch):
    import tempfile

    from optimlab import files

    (tmp_path / "b.json").write_text("the user's earlier file")
    real, made = tempfile.mkstemp, []

    def mkstemp(*args, **kwargs):
        if made:
            raise OSError(13, "Permission denied")
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    with pytest.raises(OSError, match=r"cannot write '.*b\.json': Permission denied"):
        files.write_all({tmp_path / "a.png": b"figure", tmp_path / "b.json": "{}"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json"]
    assert (tmp_path / "b.json").read_text() == "the user's earlier file"


def test_saved_run_finds_its_data_from_anywhere_and_notices_changes(tmp_path, capsys, monkeypatch):
    import hashlib

    data = tmp_path / "data" / "mine.csv"
    data.parent.mkdir()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    np.savetxt(data, np.c_[X, X @ [1.0, 2.0]], delimiter=",")
    monkeypatch.chdir(data.parent)
    assert main(["train", "--data", "mine.csv", "--batch-size", "5", "--epochs", "3", "--save", "run.json",
                 "--quiet"]) == 0
    saved = json.loads((data.parent / "run.json").read_text())["provenance"]["problem"]
    assert saved["data"] == str(data.resolve())
    assert saved["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["explain", "--from", str(data.parent / "run.json")]) == 0
    assert capsys.readouterr().out.startswith("sgd lr=")
    data.write_text(data.read_text() + "1,1,1\n")
    assert main(["explain", "--from", str(data.parent / "run.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"optimlab: error: the saved run's data file {str(data.resolve())!r} has changed since the run "
                   f"(SHA-256 differs); train again on the current data")
    data.rename(tmp_path / "moved.csv")
    assert main(["explain", "--from", str(data.parent / "run.json")]) == 2
    assert "no longer exists (moved or deleted)" in capsys.readouterr().err


# -- feedback -------------------------------------------------------------------------------------------------------
def _python(code: str):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_help_and_commands_that_draw_nothing_do_not_import_matplotlib():
    done = _python("import sys, contextlib, io\n"
                   "from optimlab.cli import main\n"
                   "with contextlib.redirect_stdout(io.StringIO()):\n"
                   "    assert main(['--help']) == 0\n"
                   "    assert main(['train', '--epochs', '1', '--quiet']) == 0\n"
                   "    assert main(['optimizers']) == 0\n"
                   "print('matplotlib' in sys.modules, 'tqdm' in sys.modules)\n"
                   "import optimlab\n"
                   "print(type(optimlab.plots.loss_curves).__name__, 'matplotlib' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "function", "True"]


def test_version(capsys):
    assert main(["--version"]) == 0
    assert re.fullmatch(r"optimlab \S+\n", capsys.readouterr().out)


def test_piping_into_head_prints_no_broken_pipe():
    import subprocess
    import sys

    done = subprocess.run(f"'{sys.executable}' -m optimlab optimizers | head -1", shell=True, capture_output=True,
                          text=True, timeout=120)
    assert done.stdout.startswith("sgd: ") and len(done.stdout.splitlines()) == 1
    assert "Error" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_progress_on_stderr_silenced_by_quiet_and_json(capsys, monkeypatch):
    from optimlab.cli import common

    monkeypatch.setattr(common, "PROGRESS_DELAY", 0.0)  # show the bar from the first epoch
    assert main(["train", "--epochs", "3"]) == 0
    shown = capsys.readouterr()
    assert re.search(r"train: .*\d/3 .*epoch", shown.err) and "epoch/s" not in shown.out
    assert main(["train", "--epochs", "3", "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["train", "--epochs", "3", "--json"]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == "" and json.loads(quiet.out)["epochs"] == 3


@pytest.mark.parametrize("value,expected", [
    (1e-7, "1e-07"), (1e308, "1e+308"), (0.0376, "0.0376"), (15900.0, "1.59e+04"), (0.0, "0"), (-2.5, "-2.5"),
    (float("nan"), "nan"), (float("inf"), "inf"), (123456.0, "1.235e+05"), (0.1, "0.1"),
])
def test_numbers_print_readably(value, expected):
    from optimlab.text import number

    assert number(value) == expected


def test_tiny_and_huge_learning_rates_print_readably(capsys):
    status, out, _ = call(capsys, "train --lr 1e-7 --epochs 1")
    assert status == 0 and "Learning rate 1e-07, Epoch 1" in out and "0.000000" not in out
    status, out, _ = call(capsys, "train --lr 0.0001 --epochs 1")
    assert "Learning rate 0.000100, Epoch 1" in out  # the lecture's format where it reads well
    status, out, _ = call(capsys, "train --lr 1e30 --epochs 1")
    assert status == 0 and "Learning rate 1e+30, Epoch 1" in out and max(map(len, out.split())) < 40


def test_out_of_memory_is_one_line(capsys, monkeypatch):
    def too_big(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(optimlab.cli.train, "train", too_big)
    assert main(["train", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("optimlab: error: not enough memory") and len(err.strip().splitlines()) == 1


def test_report_of_another_seed_is_refused_not_mixed(tmp_path):
    from optimlab import lecture

    out = tmp_path / "r"
    lecture.write_report(lecture.reproduce(only=["taylor-x2"], seed=1), out, workers=1)
    other = lecture.reproduce(only=["quartic-start"], seed=2)
    with pytest.raises(ValueError, match=r"holds a report made with seed 1; adding entries of seed 2 would mix"):
        lecture.write_report(other, out, workers=1)
    assert [f["name"] for f in _doc(out)["figures"]] == ["taylor-x2"]
    lecture.write_report(other, out, workers=1, merge_with_existing=False)  # replacing it is a choice to make
    assert [f["name"] for f in _doc(out)["figures"]] == ["quartic-start"] and not (out / "taylor-x2.png").exists()
