"""The invalid-input table: every bad value a user can give, as data, with the one-line message it must get.

- CLI cases: ``argv`` -> exit status 2, nothing on stdout, one line on stderr matching the regex, no traceback, and
  nothing written into the working folder.
- API cases: a call -> ``ValueError`` whose message matches the regex.
- Data files: each bad file is written into tmp_path and read both ways (``problems.load_arrays`` and
  ``optimlab train --data``); the message names the file and, for text, the row and column.

Every message names the value that was given and what is allowed. All in-process, so the table runs in seconds.
"""

from __future__ import annotations

import io
import json
import shlex
import zipfile

import numpy as np
import pytest

import optimlab
from optimlab import files
from optimlab.analysis.range_test import lr_range_test
from optimlab.cli import main
from optimlab.lecture.reproduction import select
from optimlab.problems import datafile

PROBLEM = optimlab.problems.make("linear-regression", seed=1)
SMALL = optimlab.problems.from_arrays(np.arange(10.0)[:, None], np.arange(10.0))


def train_with(opt=("sgd", {}), sched=None, problem=PROBLEM, **kwargs):
    schedule = optimlab.schedules.make(sched[0], **sched[1]) if sched else None
    return optimlab.train(problem, optimlab.optim.make(opt[0], **opt[1]), schedule=schedule, **kwargs)


def range_test(**kwargs):
    return lr_range_test(SMALL, **{"steps": 5, "grid": 3, "seeds": 1, "batch_size": 2, **kwargs})


# -- the command line: (id, arguments, message regex) ---------------------------------------------------------------
HYPER = [
    ("lr negative", "train --lr -1", r"lr must be > 0, got -1\.0"),
    ("lr zero", "train --optimizer adam --lr 0", r"lr must be > 0, got 0\.0"),
    ("lr nan", "train --lr nan", r"lr must be a finite number, got nan"),
    ("lr inf", "train --lr inf", r"lr must be a finite number, got inf"),
    ("lr inf in a list", "train --lr 0.1,inf", r"lr\[1\] must be a finite number, got inf"),
    ("lr negative in a list", "train --lr 0.1,0.2,-3", r"lr\[2\] must be > 0, got -3\.0"),
    ("lr text", "train --lr fast", r"--lr: expected a number or a comma-separated list of numbers, got 'fast'"),
    ("lr empty entry", "train --lr 0.1,,0.2", r"--lr: expected a number or a comma-separated list.*'0\.1,,0\.2'"),
    ("momentum 1", "train --optimizer momentum --momentum 1", r"momentum must be in \[0, 1\), got 1\.0"),
    ("momentum 1.5", "train --optimizer momentum --momentum 1.5", r"momentum must be in \[0, 1\), got 1\.5"),
    ("momentum negative", "train --optimizer nesterov --momentum -0.1", r"momentum must be in \[0, 1\), got -0\.1"),
    ("gamma 1", "train --optimizer rmsprop --gamma 1", r"gamma must be in \[0, 1\), got 1\.0"),
    ("gamma negative", "train --optimizer rmsprop --gamma -0.5", r"gamma must be in \[0, 1\), got -0\.5"),
    ("rho 1", "train --optimizer adadelta --rho 1", r"rho must be in \[0, 1\), got 1\.0"),
    ("rho 2 in a list", "train --optimizer adadelta --rho 0.9,2", r"rho\[1\] must be in \[0, 1\), got 2\.0"),
    ("beta1 1", "train --optimizer adam --beta1 1", r"beta1 must be in \[0, 1\), got 1\.0"),
    ("beta2 1", "train --optimizer adam --beta2 1", r"beta2 must be in \[0, 1\), got 1\.0"),
    ("beta2 negative", "train --optimizer adamw --beta2 -0.5", r"beta2 must be in \[0, 1\), got -0\.5"),
    ("eps zero", "train --optimizer adagrad --eps 0", r"eps must be > 0, got 0\.0"),
    ("eps negative", "train --optimizer rmsprop --eps -1e-8", r"eps must be > 0, got -1e-08"),
    ("weight decay negative", "train --optimizer adamw --weight-decay -1", r"weight_decay must be >= 0, got -1\.0"),
    ("unknown optimizer", "train --optimizer lion", r"--optimizer: invalid choice: 'lion'"),
    ("hyperparameter not taken", "train --momentum 0.9", r"sgd takes no hyperparameter 'momentum'; it takes: lr"),
    ("lr for adadelta", "train --optimizer adadelta --lr 0.1", r"adadelta takes no hyperparameter 'lr'"),
    ("beta1 for rmsprop", "train --optimizer rmsprop --beta1 0.9", r"rmsprop takes no hyperparameter 'beta1'"),
    ("lists of different lengths", "train --optimizer momentum --lr 0.1,0.2 --momentum 0.1,0.2,0.3",
     r"same length.*lr has 2, momentum has 3"),
]
LOOP = [
    ("batch size 0", "train --batch-size 0", r"batch_size must be an integer in \[1, 1000\], got 0"),
    ("batch size negative", "train --batch-size -4", r"batch_size must be an integer in \[1, 1000\], got -4"),
    ("batch size above n", "train --batch-size 1001", r"batch_size must be an integer in \[1, 1000\], got 1001"),
    ("batch size fractional", "train --batch-size 2.5", r"--batch-size: expected a whole number, got '2\.5'"),
    ("batch size text", "train --batch-size ten", r"--batch-size: expected a whole number, got 'ten'"),
    ("epochs 0", "train --epochs 0", r"epochs must be an integer >= 1, got 0"),
    ("epochs negative", "train --epochs -2", r"epochs must be an integer >= 1, got -2"),
    ("epochs 1e8 (issue)", "train --epochs 1e8", r"--epochs: expected a whole number, got '1e8' \(write it out"),
    ("epochs fractional", "train --epochs 2.5", r"--epochs: expected a whole number, got '2\.5'"),
    ("period 0", "train --period 0", r"period must be an integer >= 1, got 0"),
    ("period negative", "train --period -10", r"period must be an integer >= 1, got -10"),
    ("period not a multiple", "train --batch-size 10 --period 15",
     r"period must be a multiple of batch_size=10, got 15"),
    ("seed negative", "train --seed -3", r"seed must be an integer >= 0, got -3"),
    ("seed fractional", "train --seed 1.5", r"--seed: expected a whole number, got '1\.5'"),
    ("init scale 0", "train --init-scale 0", r"init_scale must be > 0, got 0\.0"),
    ("init scale negative", "train --init-scale -1", r"init_scale must be > 0, got -1\.0"),
    ("init scale nan", "train --init-scale nan", r"init_scale must be a finite number, got nan"),
    ("init scale text", "train --init-scale big", r"--init-scale: invalid float value: 'big'"),
    ("unknown problem", "train --problem mnist", r"--problem: invalid choice: 'mnist'"),
    ("problem and data", "train --problem quartic --data x.csv", r"give --problem or --data, not both"),
    ("unknown flag", "train --learning-rate 0.1", r"unrecognized arguments: --learning-rate 0\.1"),
    ("flag without value", "train --lr", r"--lr: expected one argument"),
    ("no command", "", r"the following arguments are required: COMMAND"),
    ("unknown command", "fit", r"invalid choice: 'fit'"),
    ("unknown optimizer to describe", "optimizers lion", r"invalid choice: 'lion'"),
]
SCHEDULE = [
    ("unknown schedule", "train --schedule triangle", r"--schedule: invalid choice: 'triangle'"),
    ("decay factor negative", "train --decay-factor -0.1", r"factor must be > 0, got -0\.1"),
    ("decay factor 0", "train --decay-factor 0", r"factor must be > 0, got 0\.0"),
    ("decay after negative", "train --decay-after -1", r"after must be an integer >= 0, got -1"),
    ("decay after fractional", "train --decay-after 1.5", r"--decay-after: expected a whole number, got '1\.5'"),
    ("decay every 0", "train --schedule step --decay-every 0", r"every must be an integer >= 1, got 0"),
    ("schedule steps 0", "train --schedule cosine --schedule-steps 0", r"steps must be an integer >= 1, got 0"),
    ("decay floor 1", "train --schedule cosine --decay-floor 1", r"floor must be in \[0, 1\), got 1\.0"),
    ("decay floor negative", "train --schedule cosine --decay-floor -0.1", r"floor must be in \[0, 1\), got -0\.1"),
    ("ramp ratio 0", "train --schedule ramp --ramp-ratio 0", r"ratio must be > 0, got 0\.0"),
    ("setting the schedule does not take", "train --schedule cosine --decay-after 2",
     r"schedule cosine takes no setting 'after'; it takes: steps, floor"),
    ("settings no schedule takes together", "train --decay-after 2 --schedule-steps 10",
     r"no schedule takes all of the settings after, steps"),
    ("schedule for adadelta", "train --optimizer adadelta --decay-after 2",
     r"adadelta has no learning rate, so the schedule must be constant, got lecture"),
    ("schedule and optimizer lists disagree", "train --lr 0.1,0.2 --decay-factor 0.1,0.2,0.3",
     r"optimizer has 2, schedule has 3"),
]
OUTPUTS = [
    ("plot with a wrong suffix", "train --plot out.txt", r"--plot must end in \.png, \.pdf, \.svg, got 'out\.txt'"),
    ("plot in a missing folder", "train --plot nowhere/out.png",
     r"--plot 'nowhere/out\.png': the folder 'nowhere' does not exist"),
    ("plot is a folder", "train --plot sub.png", r"--plot 'sub\.png' is a folder"),
    ("plot ends in a slash", "train --plot figures/", r"--plot 'figures/' is a folder"),
    ("save with a wrong suffix", "train --save run.txt", r"--save must end in \.json, got 'run\.txt'"),
    ("save in a missing folder", "train --save nowhere/run.json",
     r"--save 'nowhere/run\.json': the folder 'nowhere' does not exist"),
    ("save under a file", "train --save notes.txt/run.json",
     r"--save 'notes\.txt/run\.json': the folder 'notes\.txt' is not a folder"),
    ("plot and save the same file", "train --plot same.json --save same.json", r"--plot must end in \.png"),
    ("lr-find plot suffix", "lr-find --plot lr.jpeg", r"--plot must end in \.png, \.pdf, \.svg, got 'lr\.jpeg'"),
    ("lr-find plot missing folder", "lr-find --plot no/lr.png", r"--plot 'no/lr\.png': the folder 'no' does not"),
]
EXPLAIN = [
    ("explain bad lr", "explain --lr -1", r"lr must be > 0, got -1\.0"),
    ("explain bad batch size", "explain --batch-size 0", r"batch_size must be an integer in \[1, 1000\], got 0"),
    ("explain from a missing file", "explain --from gone.json", r"saved run 'gone\.json' does not exist"),
    ("explain from a folder", "explain --from sub.png", r"--from 'sub\.png' is a folder"),
    ("explain from text", "explain --from notes.txt", r"--from 'notes\.txt' is not a run saved by optimlab train"),
    ("explain from other JSON", "explain --from other.json", r"--from 'other\.json' is not a run saved by optimlab"),
    ("explain from with --lr (issue)", "explain --from other.json --lr 5", r"--from reads a saved run.*leave out --lr"),
    ("explain from with loop flags", "explain --from other.json --epochs 3 --seed 2",
     r"leave out --epochs, --seed"),
    ("explain from with a schedule", "explain --from other.json --decay-after 1", r"leave out --decay-after"),
    ("explain from with an optimizer", "explain --from other.json --optimizer adam", r"leave out --optimizer"),
]
# (lr-find's --epochs, --init-scale and schedule flags are honoured since lr_range_test takes them: test_cli_flags)
LR_FIND = [
    ("lr-find with --lr", "lr-find --lr 0.1", r"lr-find searches the learning rate itself: leave out --lr"),
    ("lr-find with --grid", "lr-find --grid", r"lr-find tests one configuration: leave out --grid"),
    ("lr-find with a list", "lr-find --optimizer momentum --momentum 0.1,0.5",
     r"give --momentum a single value, not a list"),
    ("lr-find start lr 0", "lr-find --start-lr 0", r"start_lr must be > 0, got 0\.0"),
    ("lr-find start lr negative", "lr-find --start-lr -1", r"start_lr must be > 0, got -1\.0"),
    ("lr-find end below start", "lr-find --start-lr 0.1 --end-lr 0.01", r"end_lr must be > start_lr=0\.1, got 0\.01"),
    ("lr-find end lr inf", "lr-find --end-lr inf", r"end_lr must be a finite number, got inf"),
    ("lr-find steps 2", "lr-find --steps 2", r"steps must be an integer >= 5, got 2"),
    ("lr-find steps 1e9 (issue)", "lr-find --steps 1e9", r"--steps: expected a whole number, got '1e9'"),
    ("lr-find points 2", "lr-find --points 2", r"grid must be an integer >= 3, got 2"),
    ("lr-find points 1e9 (issue)", "lr-find --points 1e9", r"--points: expected a whole number, got '1e9'"),
    ("lr-find seeds 0", "lr-find --seeds 0", r"seeds must be an integer >= 1, got 0"),
    ("lr-find grid epochs 0", "lr-find --grid-epochs 0", r"grid_epochs must be an integer >= 1, got 0"),
    ("lr-find batch size 0", "lr-find --batch-size 0", r"batch_size must be an integer in \[1, 1000\], got 0"),
    ("lr-find adadelta", "lr-find --optimizer adadelta", r"adadelta has no learning rate to search"),
]
REPRODUCE = [
    ("reproduce unknown experiment", "reproduce --only nope --out r", r"unknown experiment 'nope'; choose from"),
    ("reproduce negative seed", "reproduce --seed -1 --out r", r"seed must be an integer >= 0, got -1"),
    ("reproduce seed text", "reproduce --seed one", r"--seed: expected a whole number, got 'one'"),
    ("reproduce into a file", "reproduce --out notes.txt", r"--out 'notes\.txt' is a file; give a folder"),
    ("reproduce into a user's folder", "reproduce --out mine", r"--out 'mine' already holds files that are not an "
                                                                r"optimlab report"),
    ("reproduce into a missing parent", "reproduce --out no/where", r"--out 'no/where': the folder .* does not exist"),
]
DATA_PROBLEMS = [
    ("hidden 0", "train --problem mlp --hidden 0", r"hidden must be an integer >= 1, got 0"),
    ("hidden negative", "train --problem mlp --hidden -3", r"hidden must be an integer >= 1, got -3"),
    ("hidden three layers", "train --problem mlp --hidden 4,4,4", r"hidden must give one or two layer widths, got 3"),
    ("hidden text", "train --problem mlp --hidden wide", r"--hidden: expected one or two layer widths.*'wide'"),
    ("hidden on softmax", "train --problem softmax-regression --hidden 3",
     r"problem softmax-regression takes no option 'hidden'; it takes: dataset, standardize, eval_examples"),
    ("dataset nope", "train --problem logistic-regression --dataset nope",
     r"dataset must be one of iris, wine, breast_cancer, digits, diabetes or a path.*got 'nope'"),
    ("dataset on linear regression", "train --dataset iris", r"--dataset applies to the data problems .*not to "
                                                            r"linear-regression"),
    ("dataset and data", "train --problem mlp --dataset iris --data notes.txt", r"give --dataset or --data, not both"),
    ("eval examples 0", "train --problem logistic-regression --eval-examples 0",
     r"eval_examples must be an integer >= 1, got 0"),
    ("eval examples fractional", "train --problem logistic-regression --eval-examples 2.5",
     r"--eval-examples: invalid int value: '2\.5'"),
    ("activation sigmoid", "train --problem mlp --activation sigmoid",
     r"--activation: invalid choice: 'sigmoid' \(choose from 'tanh', 'relu'\)"),
    ("loss hinge", "train --problem mlp --loss hinge", r"--loss: invalid choice: 'hinge'"),
    ("initial accumulator negative", "train --optimizer adagrad --initial-accumulator -1",
     r"initial_accumulator must be >= 0, got -1\.0"),
    ("initial accumulator on sgd", "train --initial-accumulator 0.1",
     r"sgd takes no hyperparameter 'initial_accumulator'; it takes: lr"),
    ("lr decay negative", "train --optimizer adagrad --lr-decay -0.5", r"lr_decay must be >= 0, got -0\.5"),
    ("lr decay nan", "train --optimizer adagrad --lr-decay nan", r"lr_decay must be a finite number, got nan"),
    ("decay after 1e30 (issue)", "train --decay-after 1000000000000000000000000000000",
     r"after must be an integer <= 2\*\*53 = 9007199254740992, got 1000000000000000000000000000000"),
    ("decay every beyond 2**53", "train --schedule step --decay-every 99999999999999999999999",
     r"every must be an integer <= 2\*\*53 = 9007199254740992, got 99999999999999999999999"),
    ("schedule steps 1e400", "train --schedule cosine --schedule-steps 1e400",
     r"--schedule-steps: expected a whole number, got '1e400'"),
    ("explain decay after 1e30", "explain --decay-after 1000000000000000000000000000000",
     r"after must be an integer <= 2\*\*53 = 9007199254740992"),
]
MAP = [
    ("map without --y", "map --x lr=0.01:0.1:3", r"the following arguments are required: --y"),
    ("map axis unknown", "map --x lr=0.01:0.1:3 --y nope=1,2",
     r"axis 'nope' is not a hyperparameter of sgd nor a loop setting; choose one of: lr, batch_size, seed"),
    ("map log axis from 0", "map --x lr=0:1:log:3 --y seed=1,2", r"a log axis needs LOW > 0 and HIGH > 0, got lr=0:1"),
    ("map axis of no points", "map --x lr=0.01:0.1:0 --y seed=1,2", r"the number of lr values must be an integer >= 1, "
                                                                    r"got 0"),
    ("map axis without values", "map --x lr --y seed=1,2", r"an axis is NAME=LOW:HIGH\[:log\]:N or NAME=v1,v2,\.\.\., "
                                                           r"got 'lr'"),
    ("map axis text", "map --x lr=a:b:3 --y seed=1,2", r"an axis is NAME=LOW:HIGH.*got 'lr=a:b:3'"),
    ("map axis spacing word", "map --x lr=0.01:0.1:linear:3 --y seed=1,2", r"an axis is .*'lr=0\.01:0\.1:linear:3'"),
    ("map the same axis twice", "map --x lr=0.01:0.1:3 --y lr=0.1,0.2", r"the two axes must differ, both are lr"),
    ("map negative lr on an axis", "map --x lr=-1,0.1 --y seed=1,2", r"lr\[0\] must be > 0, got -1\.0"),
    ("map batch size 0 on an axis", "map --x lr=0.01:0.1:3 --y batch_size=0,10",
     r"batch_size must be an integer in \[1, 1000\], got 0"),
    ("map flag and axis", "map --x lr=0.01:0.1:3 --y seed=1,2 --lr 0.1",
     r"--lr is given and is also an axis; give one of them"),
    ("map --grid", "map --x lr=0.01:0.1:3 --y seed=1,2 --grid", r"--grid does not apply to map"),
    ("map --period", "map --x lr=0.01:0.1:3 --y seed=1,2 --period 20", r"--period does not apply to map"),
    ("map list of a fixed value", "map --x lr=0.01:0.1:3 --y seed=1,2 --optimizer momentum --momentum 0.5,0.9",
     r"momentum must be a single number on a map \(the axes hold the lists\), got \[0\.5, 0\.9\]"),
    ("map epochs 0", "map --x lr=0.01:0.1:3 --y seed=1,2 --epochs 0", r"epochs must be an integer >= 1, got 0"),
    ("map plot suffix", "map --x lr=0.01:0.1:3 --y seed=1,2 --plot map.txt",
     r"--plot must end in \.png, \.pdf, \.svg, got 'map\.txt'"),
]
SWEEP = [
    ("sweep spec missing", "sweep run missing.toml --store st", r"sweep spec 'missing\.toml' does not exist"),
    ("sweep spec a folder", "sweep run sub.png --store st", r"sweep spec 'sub\.png' is a folder"),
    ("sweep spec binary", "sweep run binary.toml --store st", r"sweep spec 'binary\.toml' is not UTF-8 text"),
    ("sweep spec not TOML", "sweep run notes.txt --store st", r"notes\.txt: not valid TOML: Expected '='"),
    ("sweep spec broken TOML", "sweep run broken.toml --store st",
     r"broken\.toml: not valid TOML: Expected '\]' at the end of a table declaration \(at line 2"),
    ("sweep spec unknown key", "sweep run colour.toml --store st",
     r"spec takes no key 'colour'; it takes: chunk_size, grid, loop, name"),
    ("sweep spec negative lr", "sweep run neglr.toml --store st", r"lr\[0\] must be > 0, got -0\.01"),
    ("sweep spec log range from 0", "sweep run logzero.toml --store st",
     r"grid\.lr\.log must satisfy 0 < lo < hi, got \[0\.0, 1\.0\]"),
    ("sweep spec unknown optimizer", "sweep run lion.toml --store st", r"unknown optimizer 'lion'; choose one of: sgd"),
    ("sweep spec unknown problem", "sweep run noproblem.toml --store st", r"unknown problem 'nope'; choose one of"),
    ("sweep spec epochs 0", "sweep run epochs0.toml --store st", r"loop\.epochs must be an integer >= 1, got 0"),
    ("sweep spec seeds 0", "sweep run seeds0.toml --store st", r"loop\.seeds must be an integer >= 1, got 0"),
    ("sweep store is a file", "sweep run good.toml --store notes.txt", r"store 'notes\.txt' is not a folder"),
    ("sweep workers 0", "sweep run good.toml --store st --workers 0", r"workers must be an integer >= 1, got 0"),
    ("sweep workers and scheduler", "sweep run good.toml --store st --workers 2 --scheduler tcp://127.0.0.1:1",
     r"argument --scheduler: not allowed with argument --workers"),
    ("sweep show without a store", "sweep show --store nowhere", r"no sweep store in 'nowhere' \(expected "
                                                                 r"sweeps\.sqlite there\)"),
    ("sweep show top 0", "sweep show --store mine --top 0", r"top must be an integer >= 1, got 0"),
    ("sweep without an action", "sweep", r"the following arguments are required: ACTION"),
]
TUNE = [
    ("tune storage unknown", "tune --search lr=0.001:0.1:log --storage bogus",
     r"storage must be sqlite:///FILE, journal:FILE or an RDB URL, got 'bogus'"),
    ("tune SQLite for several workers", "tune --search lr=0.001:0.1:log --storage sqlite:///x.db --workers 2",
     r"SQLite must not be used by several workers"),
    ("tune workers without storage", "tune --search lr=0.001:0.1:log --workers 2",
     r"several workers need a shared storage: --storage journal:FILE or an RDB URL"),
    ("tune workers 0", "tune --search lr=0.001:0.1:log --workers 0 --storage journal:j.log",
     r"workers must be an integer >= 1, got 0"),
    ("tune cmaes on one axis", "tune --search lr=0.001:0.1:log --sampler cmaes",
     r"sampler cmaes needs at least two searched hyperparameters; use tpe for one"),
    ("tune sampler unknown", "tune --search lr=0.001:0.1:log --sampler grid",
     r"--sampler: invalid choice: 'grid' \(choose from 'tpe', 'cmaes', 'random'\)"),
    ("tune trials 0", "tune --search lr=0.001:0.1:log --trials 0", r"trials must be an integer >= 1, got 0"),
    ("tune seeds 0", "tune --search lr=0.001:0.1:log --seeds 0", r"seeds must be an integer >= 1, got 0"),
    ("tune log search from 0", "tune --search lr=0:0.1:log", r"search axis lr must have 0 < LOW < HIGH, got 0\.0:0\.1"),
    ("tune search reversed", "tune --search lr=0.1:0.001", r"search axis lr must have LOW < HIGH, got 0\.1:0\.001"),
    ("tune search without a range", "tune --search lr",
     r"search axis must look like NAME=LOW:HIGH or NAME=LOW:HIGH:log, got 'lr'"),
    ("tune search unknown", "tune --search nope=0:1", r"sgd takes no hyperparameter 'nope'; it takes: lr"),
    ("tune search out of range", "tune --search momentum=0:1 --optimizer momentum",
     r"momentum\[1\] must be in \[0, 1\), got 1\.0"),
    ("tune nothing to search", "tune", r"give at least one hyperparameter to search, e\.g\. --search lr=1e-4:10:log"),
    ("tune searched and fixed", "tune --search lr=0.001:0.1:log --lr 0.1", r"lr is both searched and fixed"),
    ("tune a list fixed", "tune --search lr=0.001:0.1:log --optimizer momentum --momentum 0.5,0.9",
     r"--momentum takes one value in tune .*got \[0\.5, 0\.9\]"),
    ("tune --grid", "tune --search lr=0.001:0.1:log --grid", r"--grid does not apply to tune"),
]
COMPARE = [
    ("compare lr range reversed", "compare --out r --lr-range 1:0.1", r"lr_range must have low < high, got 1\.0:0\.1"),
    ("compare lr range text", "compare --out r --lr-range abc", r"--lr-range must look like LOW:HIGH, got 'abc'"),
    ("compare lr range from 0", "compare --out r --lr-range 0:1", r"lr_range\[0\] must be > 0, got 0\.0"),
    ("compare points 0", "compare --out r --points 0", r"points must be an integer >= 2, got 0"),
    ("compare seeds 5", "compare --out r --seeds 5", r"seeds must be an integer >= 10, got 5"),
    ("compare tune seeds 0", "compare --out r --tune-seeds 0", r"tune_seeds must hold at least one seed, got none"),
    ("compare unknown optimizer", "compare --out r --optimizers sgd,lion",
     r"unknown optimizer 'lion'; choose one of: sgd"),
    ("compare no optimizers", "compare --out r --optimizers ''",
     r"--optimizers must name optimizers separated by commas \(of: sgd, .*\), got ''"),
    ("compare empty optimizer entry", "compare --out r --optimizers sgd,,adam",
     r"--optimizers must name .*'sgd,,adam'"),
    ("compare target nan", "compare --out r --target nan", r"--target must be a finite loss, got nan"),
    ("compare target inf", "compare --out r --target inf", r"--target must be a finite loss, got inf"),
    ("compare into a file", "compare --out notes.txt", r"--out 'notes\.txt' is a file, not a folder"),
    ("compare into a user's folder", "compare --out mine", r"--out 'mine' holds files optimlab did not write "
                                                           r"\(keep\.txt\)"),
    ("compare with --lr", "compare --out r --lr 0.1", r"leave out --lr$"),
    ("compare with --optimizer", "compare --out r --optimizer adam", r"leave out --optimizer$"),
    ("compare with --grid", "compare --out r --grid", r"leave out --grid$"),
    ("compare without --out", "compare", r"the following arguments are required: --out"),
]
TRANSLATE = [
    ("translate target jax", "translate adam --to jax",
     r"--to: invalid choice: 'jax' \(choose from 'torch', 'optax', 'keras', 'gluon'\)"),
    ("translate without a target", "translate adam", r"the following arguments are required: --to"),
    ("translate unknown optimizer", "translate lion --to torch", r"argument optimizer: invalid choice: 'lion'"),
    ("translate unknown convention", "translate adam --to torch --from nope",
     r"--from: invalid choice: 'nope' \(choose from 'lecture', 'torch', 'optax', 'keras', 'gluon'\)"),
    ("translate lr negative", "translate adam --to torch --lr -1", r"lr must be > 0, got -1\.0"),
    ("translate foreign hyperparameter", "translate adam --to torch --momentum 0.9",
     r"adam takes no hyperparameter 'momentum'; it takes: lr, beta1, beta2, eps"),
    ("translate a list", "translate adam --to torch --lr 0.1,0.2",
     r"translate takes one value per hyperparameter, got lr=\[0\.1, 0\.2\]"),
    ("translate unknown schedule", "translate adam --to torch --schedule nope", r"--schedule: invalid choice: 'nope'"),
    ("translate foreign option", "translate sgd --to torch --centered",
     r"sgd takes no hyperparameter 'centered'; it takes: lr \(options: weight_decay, decoupled\)"),
    ("translate beta1 1", "translate adam --to torch --beta1 1", r"beta1 must be in \[0, 1\), got 1\.0"),
    ("translate adadelta lr without multiplier", "translate adadelta --to torch --lr 0.5",
     r"adadelta takes no hyperparameter 'lr'.*lr_multiplier=True or convention='torch'"),
]
PLAYGROUND = [
    ("playground port 70000", "playground --port 70000", r"port must be an integer in \[0, 65535\], got 70000"),
    ("playground port negative", "playground --port -1", r"port must be an integer in \[0, 65535\], got -1"),
    ("playground port text", "playground --port abc", r"--port: invalid int value: 'abc'"),
    ("playground host elsewhere", "playground --host 8.8.8.8 --no-browser",
     r"--host '8\.8\.8\.8' is not an address of this machine \(default 127\.0\.0\.1: this machine only\)"),
    ("playground host unresolvable", "playground --host 'not a host'",
     r"--host 'not a host' is not an address or a name this machine can resolve"),
]
EXPLAIN_LOG = [
    ("log missing", "explain --log missing.csv", r"log 'missing\.csv' does not exist"),
    ("log suffix", "explain --log notes.txt", r"log must be a \.csv or \.json file, got 'notes\.txt'"),
    ("log without lr", "explain --log nolr.csv",
     r"nolr\.csv has no 'lr' column \(it has: step, loss\); required: step, loss, lr"),
    ("log text loss", "explain --log textloss.csv", r"textloss\.csv: loss in record 2 is not a number: 'x'"),
    ("log header only", "explain --log headeronly.csv", r"headeronly\.csv must have at least 2 records, got 0"),
    ("log empty", "explain --log empty.csv", r"empty\.csv is empty"),
    ("log broken JSON", "explain --log broken.json", r"broken\.json is not valid JSON: Expecting ',' delimiter"),
    ("log and from", "explain --log nolr.csv --from other.json", r"give --log or --from, not both"),
    ("log with run flags", "explain --log nolr.csv --lr 0.1 --no-standardize",
     r"--log reads a training log as it was written: leave out --no-standardize, --lr"),
    ("log optimal loss text", "explain --log nolr.csv --optimal-loss abc", r"--optimal-loss: invalid float value: "
                                                                          r"'abc'"),
    ("from with a switch", "explain --from other.json --no-standardize", r"leave out --no-standardize"),
]
CLI = HYPER + LOOP + SCHEDULE + OUTPUTS + EXPLAIN + LR_FIND + REPRODUCE + DATA_PROBLEMS + MAP + SWEEP + TUNE + COMPARE \
    + TRANSLATE + PLAYGROUND + EXPLAIN_LOG


GOOD_SPEC = """name = "a"
[problem]
name = "quadratic-2d"
[optimizer]
name = "momentum"
[grid]
lr = [0.01, 0.1]
[loop]
seeds = 1
epochs = 2
batch_size = 1
"""
SPECS = {"good.toml": GOOD_SPEC, "broken.toml": 'name = "a"\n[problem\n',
         "colour.toml": GOOD_SPEC.replace('name = "a"', 'name = "a"\ncolour = 1', 1),
         "neglr.toml": GOOD_SPEC.replace("lr = [0.01, 0.1]", "lr = [-0.01, 0.1]"),
         "logzero.toml": GOOD_SPEC.replace("lr = [0.01, 0.1]", "lr = {log = [0, 1], num = 5}"),
         "lion.toml": GOOD_SPEC.replace('name = "momentum"', 'name = "lion"'),
         "noproblem.toml": GOOD_SPEC.replace('name = "quadratic-2d"', 'name = "nope"'),
         "epochs0.toml": GOOD_SPEC.replace("epochs = 2", "epochs = 0"),
         "seeds0.toml": GOOD_SPEC.replace("seeds = 1", "seeds = 0")}
LOGS = {"nolr.csv": "step,loss\n1,2\n2,1\n", "textloss.csv": "step,loss,lr\n1,2,0.1\n2,x,0.1\n",
        "headeronly.csv": "step,loss,lr\n", "empty.csv": "", "broken.json": "[1,2"}


def _workspace(folder):
    """What the CLI cases find in their working folder: a user's notes, a folder named like a figure, a user's
    folder, and a JSON file that is not a saved run."""
    (folder / "notes.txt").write_text("mine")
    (folder / "sub.png").mkdir()
    (folder / "mine").mkdir()
    (folder / "mine" / "keep.txt").write_text("mine")
    (folder / "other.json").write_text(json.dumps({"hello": 1}))
    for name, text in SPECS.items():
        (folder / name).write_text(text)
    (folder / "binary.toml").write_bytes(b"\xff\xfe\x00")
    for name, text in LOGS.items():
        (folder / name).write_text(text)
    return {p.relative_to(folder) for p in folder.rglob("*")}


def _run_cli(argv, folder, capsys, monkeypatch):
    monkeypatch.chdir(folder)
    before = _workspace(folder)
    status = main(argv)
    captured = capsys.readouterr()
    after = {p.relative_to(folder) for p in folder.rglob("*")}
    return status, captured, after - before


@pytest.mark.parametrize("what,args,message", CLI, ids=[c[0] for c in CLI])
def test_cli_refuses_in_one_line(what, args, message, tmp_path, capsys, monkeypatch):
    status, captured, new_files = _run_cli(shlex.split(args), tmp_path, capsys, monkeypatch)
    assert status == 2, captured
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("optimlab"), captured.err
    assert "Traceback" not in captured.err
    assert _re_search(message, lines[0]), f"{lines[0]!r} does not match {message!r}"
    assert not new_files, f"left behind: {new_files}"  # refused before any work: nothing written


def _re_search(pattern, text):
    import re

    return re.search(pattern, text)


# -- the API: (id, call, message regex) ------------------------------------------------------------------------
Q2 = optimlab.problems.make("quadratic-2d")
API = [
    ("make lr negative", lambda: optimlab.optim.make("sgd", lr=-1.0), r"lr must be > 0, got -1\.0"),
    ("make lr zero", lambda: optimlab.optim.make("rmsprop", lr=0), r"lr must be > 0, got 0\.0"),
    ("make lr nan", lambda: optimlab.optim.make("sgd", lr=float("nan")), r"lr must be a finite number, got nan"),
    ("make lr string", lambda: optimlab.optim.make("sgd", lr="fast"), r"lr must be a number.*'fast'"),
    ("make lr bool", lambda: optimlab.optim.make("sgd", lr=True),
     r"lr must be a number or a list of numbers, got True"),
    ("make lr 2-D", lambda: optimlab.optim.make("sgd", lr=[[0.1]]), r"lr must be a number or a non-empty 1-D"),
    ("make lr empty list", lambda: optimlab.optim.make("sgd", lr=[]), r"lr must be a number or a non-empty 1-D"),
    ("make lr list with inf", lambda: optimlab.optim.make("sgd", lr=[0.1, float("inf")]),
     r"lr\[1\] must be a finite number, got inf"),
    ("make momentum 1", lambda: optimlab.optim.make("momentum", momentum=1.0), r"momentum must be in \[0, 1\), got 1"),
    ("make nesterov momentum negative", lambda: optimlab.optim.make("nesterov", momentum=-0.5),
     r"momentum must be in \[0, 1\), got -0\.5"),
    ("make gamma 1", lambda: optimlab.optim.make("rmsprop", gamma=1), r"gamma must be in \[0, 1\), got 1\.0"),
    ("make rho negative", lambda: optimlab.optim.make("adadelta", rho=-0.1), r"rho must be in \[0, 1\), got -0\.1"),
    ("make beta1 1", lambda: optimlab.optim.make("adam", beta1=1.0), r"beta1 must be in \[0, 1\), got 1\.0"),
    ("make beta2 list", lambda: optimlab.optim.make("adam", beta2=[0.9, 1.2]), r"beta2\[1\] must be in \[0, 1\)"),
    ("make eps 0", lambda: optimlab.optim.make("adagrad", eps=0.0), r"eps must be > 0, got 0\.0"),
    ("make weight decay negative", lambda: optimlab.optim.make("adamw", weight_decay=-1),
     r"weight_decay must be >= 0, got -1\.0"),
    ("make unknown optimizer", lambda: optimlab.optim.make("lion"), r"unknown optimizer 'lion'; choose one of: sgd"),
    ("make hyperparameter not taken", lambda: optimlab.optim.make("sgd", momentum=0.9),
     r"sgd takes no hyperparameter 'momentum'; it takes: lr"),
    ("make lists disagree", lambda: optimlab.optim.make("adam", lr=[0.1, 0.2], beta1=[0.1, 0.2, 0.3]),
     r"lr has 2, beta1 has 3"),
    ("schedule unknown", lambda: optimlab.schedules.make("triangle"), r"unknown schedule 'triangle'"),
    ("schedule factor negative", lambda: optimlab.schedules.make("lecture", factor=-0.1),
     r"factor must be > 0, got -0\.1"),
    ("schedule after negative", lambda: optimlab.schedules.make("lecture", after=-1),
     r"after must be an integer >= 0, got -1"),
    ("schedule steps 0", lambda: optimlab.schedules.make("warmup", steps=0), r"steps must be an integer >= 1, got 0"),
    ("schedule floor 1", lambda: optimlab.schedules.make("cosine", floor=1.0), r"floor must be in \[0, 1\), got 1\.0"),
    ("schedule setting not taken", lambda: optimlab.schedules.make("exponential", every=2),
     r"schedule exponential takes no setting 'every'; it takes: factor"),
    ("problem unknown", lambda: optimlab.problems.make("mnist"), r"unknown problem 'mnist'; choose one of"),
    ("problem option not taken", lambda: optimlab.problems.make("quartic", scale=2),
     r"problem quartic takes no option 'scale'"),
    ("lecture data n 0", lambda: optimlab.problems.lecture_data(n=0), r"n must be an integer >= 1, got 0"),
    ("lecture data noise negative", lambda: optimlab.problems.lecture_data(noise=-1),
     r"noise must be >= 0, got -1"),
    ("lecture data seed negative", lambda: optimlab.problems.lecture_data(seed=-1),
     r"seed must be an integer >= 0, got -1"),
    ("arrays disagree", lambda: optimlab.problems.from_arrays(np.ones((5, 2)), np.ones(4)),
     r"y must have one value per example, shape \(5,\), got \(4,\)"),
    ("arrays 3-D", lambda: optimlab.problems.from_arrays(np.ones((2, 2, 2)), np.ones(2)),
     r"X must be a 2-D array \(examples × features\), got shape \(2, 2, 2\)"),
    ("arrays with nan", lambda: optimlab.problems.from_arrays(np.array([[1.0], [np.nan]]), np.ones(2)),
     r"X and y must be finite numbers"),
    ("arrays that overflow", lambda: optimlab.problems.from_arrays(np.array([[1.0], [2.0]]), np.array([1e200, 1.0])),
     r"too large \(largest \|value\| 1e\+200\).*rescale"),
    ("quadratic not symmetric", lambda: optimlab.problems.Quadratic([[1.0, 2.0], [0.0, 1.0]]),
     r"Q must be a symmetric square matrix"),
    ("train batch size 0", lambda: train_with(batch_size=0), r"batch_size must be an integer in \[1, 1000\], got 0"),
    ("train batch size above n", lambda: train_with(batch_size=1001),
     r"batch_size must be an integer in \[1, 1000\], got 1001"),
    ("train batch size fractional", lambda: train_with(batch_size=2.5), r"batch_size must be an integer, got 2\.5"),
    ("train batch size bool", lambda: train_with(batch_size=True), r"batch_size must be an integer, got True"),
    ("train epochs 0", lambda: train_with(epochs=0), r"epochs must be an integer >= 1, got 0"),
    ("train epochs string", lambda: train_with(epochs="5"), r"epochs must be an integer, got '5'"),
    ("train period not a multiple", lambda: train_with(batch_size=10, period=15),
     r"period must be a multiple of batch_size=10, got 15"),
    ("train seed negative", lambda: train_with(seed=-3), r"seed must be an integer >= 0, got -3"),
    ("train init scale 0", lambda: train_with(init_scale=0.0), r"init_scale must be > 0, got 0\.0"),
    ("train init scale list", lambda: train_with(init_scale=[1.0, 2.0]), r"init_scale must be a single number"),
    ("train divergence factor 1", lambda: train_with(divergence_factor=1.0), r"divergence_factor must be > 1, got 1"),
    ("train init shape", lambda: train_with(init=[1.0, 2.0]), r"init must have shape \(3,\) or \(1, 3\)"),
    ("train init nan", lambda: train_with(init=[1.0, np.nan, 0.0]), r"init must hold finite numbers"),
    ("train order not a permutation", lambda: train_with(epochs=1, order=np.zeros((1, 1000), dtype=int)),
     r"order\[0\] must be a permutation of 0..999"),
    ("train order shape", lambda: train_with(epochs=2, order=np.zeros((1, 1000), dtype=int)),
     r"order must be an integer array of shape \(epochs, n_examples\) = \(2, 1000\)"),
    ("train problem not a problem", lambda: optimlab.train("linear", optimlab.optim.make("sgd")),
     r"problem must be an optimlab problem, got str"),
    ("train optimizer not an optimizer", lambda: optimlab.train(PROBLEM, "sgd"),
     r"opt must come from optimlab.optim.make, got str"),
    ("train schedule not a schedule", lambda: optimlab.train(PROBLEM, optimlab.optim.make("sgd"), schedule=0.1),
     r"schedule must come from optimlab.schedules.make, got float"),
    ("train schedule for adadelta", lambda: train_with(opt=("adadelta", {}), sched=("lecture", {})),
     r"adadelta has no learning rate, so the schedule must be constant"),
    ("train schedule lists disagree", lambda: train_with(opt=("sgd", {"lr": [0.1, 0.2]}),
                                                         sched=("lecture", {"factor": [0.1, 0.2, 0.3]})),
     r"optimizer has 2, schedule has 3"),
    ("train batch size above n on x^2", lambda: train_with(problem=Q2, batch_size=2),
     r"batch_size must be an integer in \[1, 1\], got 2"),
    ("range test start lr 0", lambda: range_test(start_lr=0), r"start_lr must be > 0, got 0\.0"),
    ("range test end below start", lambda: range_test(start_lr=1.0, end_lr=0.5),
     r"end_lr must be > start_lr=1, got 0\.5"),
    ("range test steps 4", lambda: range_test(steps=4), r"steps must be an integer >= 5, got 4"),
    ("range test grid 2", lambda: range_test(grid=2), r"grid must be an integer >= 3, got 2"),
    ("range test seeds 0", lambda: range_test(seeds=0), r"seeds must be an integer >= 1, got 0"),
    ("range test grid epochs 0", lambda: range_test(grid_epochs=0), r"grid_epochs must be an integer >= 1, got 0"),
    ("range test batch size above n", lambda: range_test(batch_size=11),
     r"batch_size must be an integer in \[1, 10\], got 11"),
    ("range test with lr", lambda: range_test(hyperparams={"lr": 0.1}), r"the range test searches η itself"),
    ("range test adadelta", lambda: range_test(optimizer="adadelta"), r"adadelta has no learning rate to search"),
    ("range test bad momentum", lambda: range_test(optimizer="momentum", hyperparams={"momentum": 1.0}),
     r"momentum must be in \[0, 1\), got 1\.0"),
    ("output suffix", lambda: files.check_output_file("a.gif", files.FIGURE_FORMATS, "--plot"),
     r"--plot must end in \.png, \.pdf, \.svg, got 'a\.gif'"),
    ("output folder missing", lambda: files.check_output_file("no/such/a.png", files.FIGURE_FORMATS),
     r"output file 'no/such/a\.png': the folder 'no/such' does not exist"),
    ("reproduce seed negative", lambda: optimlab.lecture.reproduce(seed=-1), r"seed must be an integer >= 0, got -1"),
    ("reproduce unknown experiment", lambda: select(["nope"]), r"unknown experiment 'nope'; choose from: taylor-x2"),
    ("saved data moved", lambda: optimlab.problems.from_description(
        {"name": "linear-regression", "data": "/no/such/data.csv", "sha256": "0" * 64}),
     r"the saved run's data file '/no/such/data\.csv' no longer exists \(moved or deleted\)"),
    ("saved problem unknown", lambda: optimlab.problems.from_description({"name": "custom"}),
     r"the saved run's problem \(custom\) cannot be rebuilt"),
]


API += [
    ("grid of text (issue)", lambda: optimlab.optim.grid(lr=["a"]), r"lr must be a number or a list of numbers, "
                                                                     r"got \['a'\]"),
    ("grid of a string", lambda: optimlab.optim.grid(lr="fast"), r"lr must be a number or a list of numbers, "
                                                                 r"got 'fast'"),
    ("grid of nothing", lambda: optimlab.optim.grid(lr=[]), r"lr must be a number or a non-empty 1-D list .*shape "
                                                             r"\(0,\)"),
    ("grid of None", lambda: optimlab.optim.grid(lr=None), r"lr must be a number or a list of numbers, got None"),
    ("grid of a table", lambda: optimlab.optim.grid(lr=[[0.1, 0.2]]), r"lr must be .*1-D list.*shape \(1, 2\)"),
    ("grid of inf", lambda: optimlab.optim.grid(lr=[0.1], momentum=[0, float("inf")]),
     r"momentum\[1\] must be a finite number, got inf"),
    ("schedule after 1e30 (issue)", lambda: optimlab.schedules.make("lecture", after=10 ** 30),
     r"after must be an integer <= 2\*\*53 = 9007199254740992, got 10{30}"),
    ("schedule steps beyond 2**53", lambda: optimlab.schedules.make("cosine", steps=2 ** 53 + 1),
     r"steps must be an integer <= 2\*\*53 = 9007199254740992, got 9007199254740993"),
    ("unknown convention", lambda: optimlab.optim.make("adam", convention="nope"),
     r"unknown convention 'nope'; choose one of: lecture, torch, optax, keras, gluon"),
    ("translate to jax", lambda: _translate("adam", "jax"), r"unknown target library 'jax'; choose one of: torch"),
    ("translate from an unknown convention", lambda: _translate("adam", "torch", source="nope"),
     r"unknown convention 'nope'"),
    ("map axis without values", lambda: _maps().parse("lr"), r"an axis is NAME=LOW:HIGH\[:log\]:N or NAME=v1,v2"),
    ("map axis of no points", lambda: _maps().parse("lr=1:0.1:log:0"), r"the number of lr values must be an integer "
                                                                       r">= 1, got 0"),
    ("tune log axis from 0", lambda: _tune_axis("lr=0:1:log"), r"search axis lr must have 0 < LOW < HIGH, got 0\.0:1"),
    ("mlp hidden 0", lambda: optimlab.problems.make("mlp", dataset="iris", hidden=0),
     r"hidden must be an integer >= 1, got 0"),
    ("mlp activation sigmoid", lambda: optimlab.problems.make("mlp", dataset="iris", activation="sigmoid"),
     r"activation must be one of tanh, relu, got 'sigmoid'"),
    ("dataset nope", lambda: optimlab.problems.make("logistic-regression", dataset="nope"),
     r"dataset must be one of iris, wine, breast_cancer, digits, diabetes or a path .*got 'nope'"),
    ("eval examples 0", lambda: optimlab.problems.make("logistic-regression", dataset="iris", eval_examples=0),
     r"eval_examples must be an integer >= 1, got 0"),
    ("sweep spec without optimizer", lambda: _spec().validate({"name": "a"}),
     r"spec needs \[optimizer\] with name = one of: sgd, momentum"),
    ("initial accumulator negative", lambda: optimlab.optim.make("adagrad", initial_accumulator=-1),
     r"initial_accumulator must be >= 0, got -1\.0"),
]


def _translate(*args, **kwargs):
    from optimlab.translate import translate

    return translate(*args, **kwargs)


def _maps():
    import optimlab.maps

    return optimlab.maps


def _tune_axis(text):
    from optimlab.sweeps.tune import Axis

    return Axis.parse(text)


def _spec():
    from optimlab.sweeps import spec

    return spec


@pytest.mark.parametrize("what,call,message", API, ids=[c[0] for c in API])
def test_api_refuses_with_a_clear_message(what, call, message):
    with pytest.raises(ValueError, match=message):
        call()


# -- data files: (id, file name, contents as bytes or a function of nothing returning bytes, message regex) ---------
def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ones((3, 2)))
    return buffer.getvalue()


def _object_npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, X=np.array([{"a": 1}, None], dtype=object), y=np.ones(2))
    return buffer.getvalue()


def _bad_member() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("X.npy", b"not an array")
        z.writestr("y.npy", b"not an array")
    return buffer.getvalue()


GOOD_NPZ = _npz(X=np.ones((4, 2)), y=np.arange(4.0))
DATA = [
    ("missing file", "gone.csv", None, r"data file '.*gone\.csv' does not exist"),
    ("a folder", "folder.csv", "dir", r"data file '.*folder\.csv' is a folder, not a file"),
    ("wrong suffix", "data.json", b'{"X": [1]}', r"data file must end in \.csv or \.npz \(or \.tsv, \.txt\), got "
                                                 r"'data\.json'"),
    ("empty file", "empty.csv", b"", r"data file '.*empty\.csv' is empty"),
    ("blank lines only", "blank.csv", b"\n\n  \n", r"data file '.*blank\.csv' is empty"),
    ("a byte-order mark only", "bomonly.csv", b"\xef\xbb\xbf\n", r"data file '.*bomonly\.csv' is empty"),
    ("header only", "header.csv", b"x1,x2,y\n", r"'.*header\.csv' has a header row but no data rows"),
    ("non-numeric cell", "word.csv", b"x,y\n1,2\n3,abc\n", r"'.*word\.csv', row 3, column 2: 'abc' is not a number"),
    ("empty cell", "hole.csv", b"x,y\n1,2\n,4\n", r"'.*hole\.csv', row 3, column 1: empty cell"),
    ("nan cell", "nan.csv", b"1,2\nnan,4\n", r"'.*nan\.csv', row 2, column 1: 'nan' is not a finite number"),
    ("inf cell", "inf.csv", b"1,2\n3,-inf\n", r"'.*inf\.csv', row 2, column 2: '-inf' is not a finite number"),
    ("value that overflows (issue)", "huge.csv", b"x,y\n1,2\n1e308,3\n",
     r"'.*huge\.csv', row 3, column 1: 1e\+308 is too large.*overflow.*rescale"),
    ("y that overflows", "hugey.csv", b"1,2\n2,1e200\n", r"'.*hugey\.csv', row 2, column 2: 1e\+200 is too large"),
    ("one column", "one.csv", b"y\n1\n2\n3\n", r"'.*one\.csv' has one column; it needs at least two"),
    ("ragged rows", "ragged.csv", b"a,b,y\n1,2,3\n4,5\n", r"'.*ragged\.csv', row 3: 2 columns, expected 3"),
    ("too many columns", "wide.csv", b"1,2\n3,4,5\n", r"'.*wide\.csv', row 2: 3 columns, expected 2"),
    ("binary file", "binary.csv", bytes(range(256)) * 4, r"'.*binary\.csv' is not a text file \(it holds binary"),
    ("UTF-16 text", "utf16.csv", "x,y\n1,2\n".encode("utf-16"), r"'.*utf16\.csv' is UTF-16 text; save it as UTF-8"),
    ("latin-1 byte", "latin.csv", b"x\xe9,y\n1,2\n", r"'.*latin\.csv' is not UTF-8 text \(byte 0xe9 at offset 1\)"),
    ("decimal commas", "comma.csv", b"x;y\n1,5;2\n2,5;3\n", r"row 2, column 1: '1,5' is not a number \(use '\.' as"),
    ("npz that is not a zip", "junk.npz", b"this is not a zip archive at all",
     r"'.*junk\.npz' is not a readable \.npz archive"),
    ("npz cut short", "cut.npz", GOOD_NPZ[: len(GOOD_NPZ) // 2], r"'.*cut\.npz' is not a readable \.npz archive"),
    ("npz with broken members", "members.npz", _bad_member(), r"'.*members\.npz' is not a readable \.npz archive"),
    ("npy renamed npz", "single.npz", _npy(), r"'.*single\.npz' holds a single array, not an \.npz archive"),
    ("npz without X", "noX.npz", _npz(features=np.ones((3, 2)), y=np.ones(3)),
     r"'.*noX\.npz' must hold arrays named X and y; it lacks X \(it holds: features, y\)"),
    ("npz without y", "noy.npz", _npz(X=np.ones((3, 2))), r"it lacks y \(it holds: X\)"),
    ("npz X 3-D", "cube.npz", _npz(X=np.ones((2, 2, 2)), y=np.ones(2)), r"X must be 2-D .*got shape \(2, 2, 2\)"),
    ("npz y of another length", "short.npz", _npz(X=np.ones((4, 2)), y=np.ones(3)),
     r"y must hold one value per row of X, shape \(4,\), got \(3,\)"),
    ("npz X with no rows", "norows.npz", _npz(X=np.ones((0, 2)), y=np.ones(0)), r"X holds no data, shape \(0, 2\)"),
    ("npz of text", "text.npz", _npz(X=np.array([["a", "b"]]), y=np.ones(1)), r"X must hold real numbers, got dtype"),
    ("npz of objects", "objects.npz", _object_npz(), r"X holds Python objects, not numbers"),
    ("npz with nan", "nan.npz", _npz(X=np.array([[1.0], [np.nan]]), y=np.ones(2)),
     r"X\[1, 0\] is nan; every value must be a finite number"),
    ("npz y that overflows", "big.npz", _npz(X=np.ones((2, 1)), y=np.array([1.0, 1e300])),
     r"y\[1\]: 1e\+300 is too large"),
]


def _write(folder, name, contents):
    path = folder / name
    if contents == "dir":
        path.mkdir()
    elif contents is not None:
        path.write_bytes(contents)
    return path


@pytest.mark.parametrize("what,name,contents,message", DATA, ids=[c[0] for c in DATA])
def test_data_file_api(what, name, contents, message, tmp_path):
    path = _write(tmp_path, name, contents)
    with pytest.raises(ValueError, match=message):
        optimlab.problems.load_arrays(path)


@pytest.mark.parametrize("what,name,contents,message", DATA, ids=[c[0] for c in DATA])
def test_data_file_cli(what, name, contents, message, tmp_path, capsys, monkeypatch):
    _write(tmp_path, name, contents)
    monkeypatch.chdir(tmp_path)
    status = main(["train", "--data", name, "--plot", "out.png"])
    captured = capsys.readouterr()
    assert status == 2 and captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err and name in lines[0], captured.err
    assert _re_search(message, lines[0]), f"{lines[0]!r} does not match {message!r}"
    assert not (tmp_path / "out.png").exists()


def test_the_table_is_large():
    cli = len(CLI) + len(DATA)
    api = len(API) + len(DATA)
    assert cli + api >= 150, (cli, api)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_outputs_get_the_mode_open_would_give(umask, tmp_path):
    """write_atomic stages in a mkstemp file (mode 0600); the output gets what ``open(path, "w")`` gives: 0o666 &
    ~umask for a new file, an existing file's own mode when it is replaced."""
    import os

    old = os.umask(umask)
    try:
        files.write_atomic(tmp_path / "new.json", "{}")
        with open(tmp_path / "plain.json", "w") as f:  # the reference: what a normal open() leaves
            f.write("{}")
        existing = tmp_path / "kept.json"
        existing.write_text("old")
        existing.chmod(0o640)
        files.write_atomic(existing, "new")
    finally:
        os.umask(old)
    mode = (tmp_path / "new.json").stat().st_mode & 0o777
    assert mode == (tmp_path / "plain.json").stat().st_mode & 0o777 == 0o666 & ~umask
    assert existing.stat().st_mode & 0o777 == 0o640 and existing.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging file left


# -- what the loader accepts: the same numbers whatever the spelling ------------------------------------------------
REFERENCE = np.array([[1.0, 2.0, 3.0], [4.0, 5.5, 6.0], [7.0, 8.0, 10.0]])
ACCEPTED = [
    ("comma with header", "plain.csv", b"a,b,y\n1,2,3\n4,5.5,6\n7,8,10\n"),
    ("byte-order mark, no header (issue: a row was dropped)", "bom.csv", b"\xef\xbb\xbf1,2,3\n4,5.5,6\n7,8,10\n"),
    ("byte-order mark and header", "bomh.csv", b"\xef\xbb\xbfa,b,y\n1,2,3\n4,5.5,6\n7,8,10\n"),
    ("semicolons", "semi.csv", b"a;b;y\n1;2;3\n4;5.5;6\n7;8;10\n"),
    ("tabs", "tabs.tsv", b"a\tb\ty\n1\t2\t3\n4\t5.5\t6\n7\t8\t10\n"),
    ("spaces", "spaces.txt", b"1 2 3\n4  5.5 6\n7 8 10\n"),
    ("Windows line ends", "crlf.csv", b"a,b,y\r\n1,2,3\r\n4,5.5,6\r\n7,8,10\r\n"),
    ("blank lines and spaces around cells", "loose.csv", b"\na, b, y\n1, 2, 3\n\n4, 5.5, 6\n7, 8, 10\n\n"),
    ("upper-case suffix", "UPPER.CSV", b"1,2,3\n4,5.5,6\n7,8,10\n"),
    ("quoted cells", "quoted.csv", b'"a, in m","b","y"\n"1","2","3"\n4,5.5,6\n7,8,10\n'),
    ("npz", "arrays.npz", _npz(X=REFERENCE[:, :2], y=REFERENCE[:, 2])),
    ("upper-case npz", "ARRAYS.NPZ", _npz(X=REFERENCE[:, :2], y=REFERENCE[:, 2])),
    ("npz with y as a column", "column.npz", _npz(X=REFERENCE[:, :2], y=REFERENCE[:, 2:])),
]


@pytest.mark.parametrize("what,name,contents", ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_loader_reads_every_spelling_alike(what, name, contents, tmp_path):
    path = _write(tmp_path, name, contents)
    data = datafile.read(path)
    np.testing.assert_array_equal(np.c_[data.X, data.y], REFERENCE)
    assert data.path == path.resolve() and data.path.is_absolute()
    import hashlib

    assert data.sha256 == hashlib.sha256(contents).hexdigest()
