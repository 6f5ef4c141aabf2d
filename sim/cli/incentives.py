"""``python -m sim incentive calc | statements``: the incentive calculator and statements.

``calc`` prints, for one contract on a date: payable now, frozen and why, the expected
release date, the payments the basis does not count yet (and which condition blocks
them), and the audit trail; ``--appeal "reason"`` records a ticket in
``<out>/appeals.csv``.  ``statements`` writes one HTML and one PDF statement per rep for a
month, in English or Chinese (``--lang``), money in ``--currency`` (CNY).  Bad dates, ids
or files give one line and exit code 2 (see :mod:`sim.cli.main`).
Both list the ledger's row problems (the first :data:`SHOWN_PROBLEMS`, one line each) and
write them all to ``<out>/quarantine.csv``; ``--strict`` refuses a column the ledger
does not know instead of warning.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
from pathlib import Path

from sim.errors import ConfigError

__all__ = ["DEFAULT_LEDGER", "DEFAULT_POLICY", "add_commands", "record_appeal"]

DEFAULT_LEDGER = "scenarios/ledgers/sample"
DEFAULT_POLICY = "scenarios/policies/commission_source.yaml"
DEFAULT_OUT = "runs/incentives"
SHOWN_PROBLEMS = 10
"""Ledger row problems printed one line each; all of them are in ``quarantine.csv``."""


YEARS = range(1900, 3000)
"""Years a date argument may fall in (run calendars reach months beyond it)."""


def _date(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None
    if day.year not in YEARS:
        raise argparse.ArgumentTypeError(f"year {day.year} outside {YEARS[0]}..{YEARS[-1]}")
    return day


def _period(text: str) -> tuple[int, int]:
    try:
        day = dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a month YYYY-MM, got {text!r}") from None
    if day.year not in YEARS:
        raise argparse.ArgumentTypeError(f"year {day.year} outside {YEARS[0]}..{YEARS[-1]}")
    return day.year, day.month


def _currency(text: str) -> str:
    from babel.numbers import list_currencies

    code = text.strip().upper()
    if code not in list_currencies():
        raise argparse.ArgumentTypeError(f"unknown currency {text!r} (ISO 4217, e.g. CNY, USD)")
    return code


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ledger", default=DEFAULT_LEDGER, help="ledger folder of CSV files")
    parser.add_argument("--policy", default=DEFAULT_POLICY, help="policy YAML (commission, freeze)")
    parser.add_argument("--holidays", default="CN", help="holiday country of the run calendar")
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder")
    parser.add_argument(
        "--strict", action="store_true", help="refuse ledger columns that are not known"
    )


def add_commands(sub) -> dict:
    """Add ``incentive`` with its ``calc`` and ``statements`` subcommands."""
    inc = sub.add_parser("incentive", help="incentive calculator and monthly statements")
    isub = inc.add_subparsers(dest="incentive_command", required=True, parser_class=type(inc))
    calc = isub.add_parser("calc", help="payable, frozen and why, expected release, audit trail")
    calc.add_argument("--contract", required=True, help="contract id")
    calc.add_argument("--as-of", required=True, type=_date, help="date YYYY-MM-DD")
    calc.add_argument("--appeal", help="record an appeal ticket with this reason")
    _common(calc)
    st = isub.add_parser("statements", help="one HTML + PDF statement per rep for a month")
    st.add_argument("--period", required=True, type=_period, help="month YYYY-MM")
    st.add_argument("--lang", choices=("en", "zh"), default="en", help="statement language")
    st.add_argument("--currency", type=_currency, default="CNY", help="ISO 4217 code (CNY)")
    _common(st)
    return {"incentive": _cmd_incentive}


def _cmd_incentive(args: argparse.Namespace) -> int:
    return _cmd_calc(args) if args.incentive_command == "calc" else _cmd_statements(args)


def _load(args: argparse.Namespace):
    from sim.incentives.ledger_import import read_ledger
    from sim.io.paths import resolve
    from sim.world.loading import load_policy

    policy = load_policy(resolve(args.policy))
    ledger, report = read_ledger(resolve(args.ledger), strict=args.strict)
    for warning in report.warnings:
        print(f"warning: {warning}")
    return policy, ledger, report


def _print_problems(report, out: Path) -> None:
    """The import summary, the first row problems one line each, and where all are."""
    from sim.io.output import confined
    from sim.io.quarantine import write_quarantine

    if not report.problems:
        return
    print(f"note: ledger import: {report.summary()}")
    for problem in report.problems[:SHOWN_PROBLEMS]:
        print(f"  {problem}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{out}: cannot create output folder ({exc.strerror})") from None
    path = write_quarantine(report.problems, confined(out, "quarantine.csv"))
    more = len(report.problems) - SHOWN_PROBLEMS
    lead = f"  ... and {more} more; all" if more > 0 else "  all"
    print(f"{lead} {len(report.problems)} in {path}")


def _ledger_runs(ledger, last: dt.date, nth_working_day: int, country: str | None):
    """:func:`sim.incentives.payments.ledger_runs`, with a bad ``--holidays`` named."""
    from sim.incentives.payments import ledger_runs

    try:
        return ledger_runs(ledger, last, nth_working_day, country)
    except ConfigError as exc:
        raise ConfigError(f"--holidays: {exc}") from None


def record_appeal(out: Path, contract_id: str, on: dt.date, reason: str) -> str:
    """Append an appeal ticket to ``out/appeals.csv``; returns its ticket id."""
    from sim.io.output import confined
    from sim.io.safe_text import neutralise_cell

    if not reason.strip():
        raise ConfigError("--appeal: give the reason of the appeal")
    out.mkdir(parents=True, exist_ok=True)
    path = confined(out, "appeals.csv")
    rows = list(csv.reader(path.open(encoding="utf-8"))) if path.is_file() else []
    ticket = f"APL-{len(rows):05d}" if rows else "APL-00001"
    new = not rows
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(["ticket", "contract_id", "as_of", "reason", "status"])
        row = [ticket, contract_id, on.isoformat(), reason.strip(), "open"]
        writer.writerow([neutralise_cell(cell) for cell in row])
    return ticket


def _cmd_calc(args: argparse.Namespace) -> int:
    from sim.incentives.accounts import account_contract
    from sim.incentives.report import describe_account

    policy, ledger, report = _load(args)
    ledger.contract(args.contract)  # one clear line for an unknown id
    runs, _ = _ledger_runs(
        ledger, args.as_of, policy.commission.statement_working_day, args.holidays
    )
    later, _ = _ledger_runs(
        ledger,
        args.as_of + dt.timedelta(days=31),
        policy.commission.statement_working_day,
        args.holidays,
    )
    account = account_contract(
        ledger, args.contract, policy.commission, policy.freeze, runs, args.as_of
    )
    next_run = next((r for r in later if r.run_on > args.as_of), None)
    print(describe_account(account, ledger, policy, next_run))
    _print_problems(report, Path(args.out))
    if args.appeal is not None:
        ticket = record_appeal(Path(args.out), args.contract, args.as_of, args.appeal)
        print(f"appeal recorded: ticket {ticket} in {Path(args.out) / 'appeals.csv'}")
    return 0


def _cmd_statements(args: argparse.Namespace) -> int:
    from sim.incentives.earnings import channel_pools
    from sim.incentives.report import ledger_accounts
    from sim.incentives.statements import build_statements, write_statements

    policy, ledger, report = _load(args)
    year, month = args.period
    period_end = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    runs, _ = _ledger_runs(
        ledger, period_end, policy.commission.statement_working_day, args.holidays
    )
    run = runs[-1]
    accounts = ledger_accounts(ledger, policy, runs, run.run_on)
    statements = build_statements(accounts, run, due_on=run.run_on)
    out = Path(args.out) / "statements"
    written = write_statements(statements, out, lang=args.lang, currency=args.currency)
    for statement, html_path, pdf_path in written:
        print(f"{statement.rep_id}: {html_path} {pdf_path}")
    print(
        f"{len(statements)} statement(s) for {run.period}, issued {run.run_on} "
        f"(working day {policy.commission.statement_working_day} of the next month)"
    )
    _, _, unmatched = channel_pools(ledger, run.run_on)
    for row, reason in unmatched:
        print(
            f"unmatched channel invoice {row.invoice_id} ({row.channel}, end customer "
            f"{row.end_customer_id}, {row.amount:,.2f} on {row.invoiced_on}): {reason}"
        )
    _print_problems(report, Path(args.out))
    return 0
