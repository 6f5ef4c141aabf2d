"""``python -m sim optimize``: lever parsing, paired-interval dominance, constraints,
resume after an interruption, determinism, the issue's command, and an M/M/c world
whose optimal staffing follows from Erlang C."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from test_queueing import erlang_c

from conftest import POLICIES, SCENARIOS
from sim.cli.main import main
from sim.errors import ConfigError
from sim.experiments.fanout import SequentialEvaluator
from sim.experiments.pareto import crowding, dominance, front_table, robust_set
from sim.experiments.search import run_search
from sim.experiments.search_spec import (
    Condition,
    Objective,
    SearchSpec,
    parse_condition,
    parse_lever,
    parse_objective,
)
from sim.experiments.search_store import read_configuration
from sim.experiments.sweep import evaluate_point

MMC = str(SCENARIOS / "mmc_validation.yaml")
NO_SLA = str(POLICIES / "no_sla.yaml")
SHORT = ("horizon_days=2", "warmup_days=0.25")


# -- parsing -----------------------------------------------------------------------------
def test_levers_parse_like_sweep_paths():
    assert parse_lever("sla.reclaim_hours=1:8").kind == "int"
    lever = parse_lever("allocation.newbie_protection.a_share_max=0.05:0.3")
    assert (lever.kind, lever.low, lever.high) == ("float", 0.05, 0.3)
    assert lever.column == "policy.allocation.newbie_protection.a_share_max"
    choice = parse_lever("routing.name=round_robin,least_loaded")
    assert choice.choices == ("round_robin", "least_loaded")
    assert parse_lever("team.groups.0.count=3:9").column == "team.groups.0.count"
    assert parse_objective("min:a_leads_gini") == Objective("a_leads_gini", "min")
    assert parse_condition("dropped_share <= 0.01") == Condition("dropped_share", "<=", 0.01)


@pytest.mark.parametrize(
    "make",
    [
        lambda: parse_lever("sla.reclaim_hours=8:1"),
        lambda: parse_lever("sla.reclaim_hours"),
        lambda: parse_lever("routing.name=round_robin"),
        lambda: parse_lever("nonsense.path=1:2"),
        lambda: parse_objective("best:qualification_rate"),
        lambda: parse_objective("max:no_such_kpi"),
        lambda: parse_condition("dropped_share=<0.01"),
        lambda: parse_condition("dropped_share<=lots"),
    ],
)
def test_bad_items_are_config_errors(make):
    with pytest.raises(ConfigError) as info:
        make()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--lever", "routing.name=round_robin,no_such_router"], "--lever routing.name"),
        # no value of the range is above the policy's 2 h reminder
        (["--lever", "sla.reclaim_hours=0.5:1.5"], "--lever sla.reclaim_hours=0.5:1.5"),
        (["--lever", "sla.no_such_field=1:3"], "--lever sla.no_such_field=1:3"),
        (["--lever", "routing.name=1:3"], "--lever routing.name=1:3"),
        (["--objective", "max:no_such_kpi"], "unknown KPI"),
        (["--objective", "max:win_rate"], "no 'win_rate' KPI"),
        (["--constraint", "dropped_share~0.1"], "--constraint"),
        (["--futures", "5"], "--futures needs"),
    ],
)
def test_bad_options_exit_2_before_any_run(extra, words, tmp_path, capsys):
    args = ["optimize", str(SCENARIOS / "baseline.yaml"), "--workers", "0", "--no-progress"]
    args += ["--policy", str(POLICIES / "source_defaults.yaml")]
    args += ["--out", str(tmp_path / "out"), "--objective", "max:qualification_rate"]
    args += ["--lever", "allocation.newbie_protection.a_share_max=0.05:0.3", *extra]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err
    assert not (tmp_path / "out" / "evaluations").exists()


# -- dominance with intervals ----------------------------------------------------------------
def _frame(values: dict[str, list[float]]) -> pd.DataFrame:
    n = len(next(iter(values.values())))
    return pd.DataFrame({"replication": range(n), **values})


def test_dominance_needs_the_paired_interval():
    noise = np.array([0.3, -0.2, 0.1, -0.4, 0.2])
    base = np.array([10.0, 12.0, 9.0, 11.0, 13.0])
    # b: better than a by 1 on every replication; c: within noise of a
    a, b, c = base, base + 1.0, base + noise
    good = [np.vstack([a, b, c])]  # larger is better
    dom = dominance(good)
    assert dom[1, 0] and dom[1, 2]  # b clearly better than a and c
    assert not dom[0, 2] and not dom[2, 0]  # noise: neither dominates
    assert not dom.diagonal().any()
    # a second objective on which b is clearly worse: no domination by b any more
    worse = [np.vstack([a, b, c]), np.vstack([base, base - 1.0, base])]
    assert not dominance(worse)[1].any()


def test_front_table_intervals_feasibility_and_dominated_by():
    frames = [
        _frame({"qualification_rate": [0.30, 0.32, 0.31], "dropped_share": [0.0, 0.0, 0.0]}),
        _frame({"qualification_rate": [0.20, 0.22, 0.21], "dropped_share": [0.0, 0.0, 0.0]}),
        _frame({"qualification_rate": [0.50, 0.52, 0.51], "dropped_share": [0.2, 0.2, 0.2]}),
        _frame({"qualification_rate": [0.31, 0.30, 0.32], "dropped_share": [0.0, 0.0, 0.0]}),
    ]
    values = [{"lever": i} for i in range(4)]
    objectives = [Objective("qualification_rate", "max")]
    table, note = front_table(frames, values, objectives, [Condition("dropped_share", "<=", 0.01)])
    assert note == "front of the feasible candidates"
    assert table["feasible"].tolist() == [True, True, False, True]
    assert table["pareto"].tolist() == [True, False, False, True]  # 0 and 3: within noise
    assert table.loc[1, "dominated_by"] == 0
    assert table.loc[0, "qualification_rate_low"] < 0.31 < table.loc[0, "qualification_rate_high"]
    assert table.loc[0, "qualification_rate_mean"] == pytest.approx(0.31)


def test_crowding_keeps_extremes():
    points = np.array([[0.0, 3.0], [1.0, 2.0], [1.1, 1.9], [3.0, 0.0]])
    distance = crowding(points)
    assert math.isinf(distance[0]) and math.isinf(distance[3])
    assert distance[1] == pytest.approx(1.1 / 3 + 1.1 / 3)  # neighbours' gaps / range
    assert distance[2] == pytest.approx(2.0 / 3 + 2.0 / 3)
    table = pd.DataFrame({"candidate": range(4), "pareto": True, "k_mean": points[:, 0]})
    assert robust_set(table, [Objective("k", "max")], 2) == [0, 3]


# -- a search on the M/M/c world ---------------------------------------------------------
def mmc_spec(constraint: str = "leads_waiting_at_end<=40", **fields) -> SearchSpec:
    options = {
        "overrides": SHORT,
        "budget": 6,
        "replications": 2,
        "population": 3,
        "seed": 3,
        **fields,
    }
    return SearchSpec.from_options(
        MMC,
        NO_SLA,
        ["team.groups.0.count=4:9", "routing.name=round_robin,least_loaded"],
        ["max:rep_utilisation_mean", "min:first_touch_hours_mean"],
        [constraint],
        **options,
    )


class InterruptAfter:
    """The sweep's point function, raising KeyboardInterrupt at call number *k* + 1."""

    def __init__(self, k: int) -> None:
        self.k, self.calls = k, 0

    def __call__(self, task):
        self.calls += 1
        if self.calls > self.k:
            raise KeyboardInterrupt
        return evaluate_point(task)


def _run(spec, out, evaluate=evaluate_point):
    return run_search(spec, out, SequentialEvaluator(progress=False), evaluate=evaluate)


def test_resume_after_interruption_gives_the_same_outputs(tmp_path):
    spec = mmc_spec()
    whole = _run(spec, tmp_path / "whole")
    assert whole.complete and whole.reused == 0
    with pytest.raises(KeyboardInterrupt):
        _run(spec, tmp_path / "cut", InterruptAfter(2))
    assert len(list((tmp_path / "cut" / "evaluations").glob("*.parquet"))) == 2
    assert not (tmp_path / "cut" / ".complete.json").exists()
    resumed = _run(spec, tmp_path / "cut")
    assert resumed.reused == 2 and resumed.ran == whole.ran - 2
    for name in ("candidates.csv", "robustness.csv", "future_results.csv"):
        assert (tmp_path / "cut" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    again = _run(spec, tmp_path / "cut")  # everything read back
    assert again.ran == 0


class FailOnEvenTeams:
    """The sweep's point function, raising ValueError for an even team size."""

    def __call__(self, task):
        if task.scenario["team"]["groups"][0]["count"] % 2 == 0:
            raise ValueError("planted failure")
        return evaluate_point(task)


def test_a_failed_evaluation_is_reported_and_retried(tmp_path):
    spec = mmc_spec()
    broken = _run(spec, tmp_path / "cut", FailOnEvenTeams())
    assert broken.failed and not broken.complete and broken.manifest["complete"] is False
    assert all("planted failure" in error for error in broken.failed.values())
    assert not (tmp_path / "cut" / ".complete.json").exists()
    even = broken.candidates["team.groups.0.count"] % 2 == 0
    assert even.any() and not broken.candidates.loc[even, "pareto"].any()
    assert broken.candidates.loc[~even, "pareto"].any()
    fixed = _run(spec, tmp_path / "cut")  # the failed configurations run again
    assert fixed.complete and (tmp_path / "cut" / ".complete.json").exists()


def test_same_seed_same_candidates_and_another_design_refused(tmp_path):
    spec = mmc_spec()
    first = _run(spec, tmp_path / "a")
    _run(spec, tmp_path / "b")
    assert (tmp_path / "a" / "candidates.csv").read_bytes() == (
        tmp_path / "b" / "candidates.csv"
    ).read_bytes()
    table = pd.read_csv(tmp_path / "a" / "candidates.csv")
    assert len(table) == len(first.candidates) and table["pareto"].any()
    for column in ("rep_utilisation_mean_low", "first_touch_hours_mean_high", "dominated_by"):
        assert column in table
    with pytest.raises(ConfigError, match="different search"):
        _run(mmc_spec(seed=4), tmp_path / "a")


def test_constraints_mark_infeasible_candidates(tmp_path):
    outcome = _run(mmc_spec("first_touch_hours_mean<0.1", budget=9), tmp_path / "c")
    table = outcome.candidates
    wait = table["first_touch_hours_mean_mean"]
    assert table["feasible"].tolist() == (wait < 0.1).tolist()
    assert table["feasible"].any() and not table["feasible"].all()
    # c = 4 with a = 4 is an unstable queue (rho = 1): never feasible
    assert not table.loc[table["team.groups.0.count"] == 4, "feasible"].any()
    assert not table.loc[~table["feasible"], "pareto"].any()


@pytest.mark.slow
def test_mmc_search_finds_the_erlang_c_staffing(tmp_path):
    """Smallest team whose mean wait is at most 0.04 h, at lambda = 8/h, mu = 2/h.

    Maximising utilisation (a / c) is minimising c, so with the constraint the single
    objective's optimum is the smallest c meeting the wait target; Erlang C says c = 7
    (Wq(6) = 0.071 h, Wq(7) = 0.023 h).
    """
    target = 0.04
    wq = {c: erlang_c(c, 4.0) / (2 * c - 8) for c in range(5, 12)}
    best = min(c for c, w in wq.items() if w <= target)
    assert best == 7
    spec = SearchSpec.from_options(
        MMC,
        NO_SLA,
        ["team.groups.0.count=4:11"],
        ["max:rep_utilisation_mean"],
        [f"first_touch_hours_mean<={target}"],
        overrides=("horizon_days=12", "warmup_days=1"),
        budget=32,  # 4 generations of 8: every team size is tried (8 distinct runs)
        replications=3,
        population=8,
        seed=0,
    )
    outcome = _run(spec, tmp_path / "mmc")
    chosen = outcome.candidates.set_index("candidate").loc[outcome.manifest["recommended"]]
    assert abs(int(chosen["team.groups.0.count"]) - best) <= 1, outcome.candidates
    assert chosen["feasible"]
    table = outcome.candidates
    team = table["team.groups.0.count"]
    assert team[table["feasible"]].min() == chosen["team.groups.0.count"]
    assert not table.loc[team < chosen["team.groups.0.count"], "feasible"].any()
    assert {best - 1, best} <= set(team)  # the step below was tried, and found too slow


# -- the command line ----------------------------------------------------------------------
def test_issue_example_on_a_reduced_budget(tmp_path, capsys):
    out = tmp_path / "opt"
    args = [
        "optimize", str(SCENARIOS / "baseline.yaml"),
        "--policy", str(POLICIES / "source_defaults.yaml"),
        "--lever", "sla.reclaim_hours=1:8",
        "--lever", "allocation.newbie_protection.a_share_max=0.05:0.3",
        "--lever", "routing.name=round_robin,least_loaded",
        "--objective", "max:qualification_rate",
        "--objective", "min:first_touch_hours_p90",
        "--objective", "min:a_leads_gini",
        "--constraint", "dropped_share<=0.01",
        "--uncertainty", "arrivals.leads_per_month=2400:4800",
        "--uncertainty", "team.groups.0.count=10:14",
        "--futures", "2", "--robust-max", "2",
        "--budget", "3", "-n", "2",
        "--set", "horizon_days=1",
        "--workers", "0", "--no-progress", "--out", str(out),
    ]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.strip() == str(out)
    manifest = pd.read_json(out / "search.json", typ="series")
    assert manifest["complete"] and manifest["recommended"] is not None
    futures = pd.read_csv(out / "futures.csv")
    assert len(futures) == 2 and futures["team.groups.0.count"].between(10, 14).all()
    robustness = pd.read_csv(out / "robustness.csv")
    assert robustness["recommended"].sum() == 3  # one candidate, a row per objective


ISSUE_COMMAND = [
    "optimize", "scenarios/baseline.yaml",
    "--policy", "scenarios/policies/source_defaults.yaml",
    "--lever", "sla.reclaim_hours=1:8",
    "--lever", "allocation.newbie_protection.a_share_max=0.05:0.3",
    "--lever", "routing.name=round_robin,least_loaded",
    "--objective", "max:qualification_rate",
    "--objective", "min:first_touch_hours_p90",
    "--objective", "min:a_leads_gini",
    "--constraint", "dropped_share<=0.01",
    "--budget", "200", "-n", "10",
]  # fmt: skip


def test_the_issue_command_as_written_runs(tmp_path, capsys, monkeypatch):
    """The issue's command word for word (reclaim 1..8 h against the policy's 2 h reminder),
    with only the budget, replications and horizon made small."""
    monkeypatch.chdir(SCENARIOS.parent)
    args = list(ISSUE_COMMAND)
    args[args.index("--budget") + 1], args[args.index("-n") + 1] = "16", "1"
    args += ["--set", "horizon_days=1", "--workers", "0", "--no-progress"]
    args += ["--out", str(tmp_path / "issue")]
    assert main(args) == 0, capsys.readouterr().err
    table = pd.read_csv(tmp_path / "issue" / "candidates.csv")
    low = table["sla.reclaim_hours"] <= 2  # at or below the reminder: invalid
    assert low.any() and (~low).any(), table  # seed 0 tries both kinds
    assert not table.loc[low, "feasible"].any() and table.loc[~low, "feasible"].all()
    manifest = pd.read_json(tmp_path / "issue" / "search.json", typ="series")
    assert manifest["complete"] and sum(g["trials"] for g in manifest["invalid"]) >= low.sum()
    err = capsys.readouterr().err
    assert "give no valid configuration" in err and "remind at 2 h" in err
    first = (tmp_path / "issue" / "candidates.csv").read_bytes()
    assert main(args) == 0  # the same command again: every trial replayed, nothing run
    assert "0 run now" in capsys.readouterr().err
    assert (tmp_path / "issue" / "candidates.csv").read_bytes() == first


def test_a_trial_below_the_reminder_is_infeasible_with_its_reason(tmp_path):
    spec = SearchSpec.from_options(
        str(SCENARIOS / "baseline.yaml"),
        str(POLICIES / "source_defaults.yaml"),
        ["sla.reclaim_hours=1.0:3.0"],  # the reminder is at 2 h
        ["max:qualification_rate"],
        ["dropped_share<=0.01"],
        overrides=("horizon_days=1",),
        budget=8,
        replications=1,
        population=8,
    )
    outcome = _run(spec, tmp_path / "low")
    table = outcome.candidates
    below = table["sla.reclaim_hours"] <= 2
    assert below.any() and (~below).any(), table
    assert not table.loc[below, "feasible"].any() and not table.loc[below, "pareto"].any()
    for reason in table.loc[below, "reason"]:
        assert reason.startswith("invalid configuration, not run: policy: sla: steps.1")
        assert "must come after steps.0 (remind at 2 h)" in reason and "\n" not in reason
    assert (table.loc[~below, "reason"] == "").all() and table.loc[~below, "feasible"].all()
    assert table.loc[below, "qualification_rate_mean"].isna().all()
    stored = {p.stem for p in (tmp_path / "low" / "evaluations").glob("*.parquet")}
    assert stored == set(table.loc[~below, "key"])  # the invalid ones never ran
    assert (
        outcome.complete
        and outcome.manifest["invalid"][0]["trials"] == table.loc[below, "trials"].sum()
    )


def test_the_reclaim_lever_reaches_the_evaluated_policy(tmp_path):
    """Reclaim at 4 h vs 6 h under least-loaded routing: different stored policies, and
    different results over the scenario's 28 days, in which some assignments wait over 4
    business hours (on a 2-day horizon none does, and both give the same numbers)."""
    spec = SearchSpec.from_options(
        str(SCENARIOS / "baseline.yaml"),
        str(POLICIES / "source_defaults.yaml"),
        ["sla.reclaim_hours=4.0,6.0"],
        ["max:qualification_rate"],
        overrides=("routing.name=least_loaded",),
        budget=4,
        replications=1,
        population=4,
    )
    outcome = _run(spec, tmp_path / "reclaim")
    table = outcome.candidates.set_index("sla.reclaim_hours")
    assert sorted(table.index) == [4.0, 6.0]
    ladders, frames = {}, {}
    for hours in (4.0, 6.0):
        key = table.loc[hours, "key"]
        stored = read_configuration(tmp_path / "reclaim", key)
        assert stored["policy"]["routing"]["name"] == "least_loaded"
        ladders[hours] = [(s["action"], s["after_hours"]) for s in stored["policy"]["sla"]["steps"]]
        frames[hours] = pd.read_parquet(tmp_path / "reclaim" / "evaluations" / f"{key}.parquet")
    assert ladders == {
        4.0: [("remind", 2.0), ("reclaim", 4.0)],
        6.0: [("remind", 2.0), ("reclaim", 6.0)],
    }
    assert frames[4.0]["sla_reclaims"].iloc[0] > frames[6.0]["sla_reclaims"].iloc[0]
    assert not frames[4.0].equals(frames[6.0])
