"""Exact amounts and currencies: minor units, refusal of mixed currencies, conversion."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from sim.cli.main import main
from sim.errors import DataError
from sim.history.importer import import_export, summary_lines
from sim.history.mapping import MappingSpec, load_mapping_spec
from sim.history.money import minor_units_of, to_minor


def _export(folder, rows):
    pd.DataFrame(rows, columns=["id", "created", "stage", "value", "ccy"]).to_csv(
        folder / "deals.csv", index=False
    )


def _mapping(currency_column=True, **top) -> MappingSpec:
    columns = {
        "opportunity_id": "id",
        "created": {"column": "created", "formats": ["%Y-%m-%d"]},
        "outcome": {"column": "stage", "values": {"W": "won", "L": "lost", "O": "open"}},
        "amount": "value",
    }
    if currency_column:
        columns["currency"] = "ccy"
    return MappingSpec.model_validate(
        {"tables": {"opportunities": {"files": "deals.csv", "columns": columns}}, **top}
    )


ROWS = [
    ["D1", "2024-01-02", "W", "100.10", "USD"],
    ["D2", "2024-01-03", "W", "0.07", ""],
    ["D3", "2024-01-04", "W", "12.345", "USD"],
    ["D4", "2024-01-05", "W", "1000", "usd"],
    ["D5", "2024-01-06", "O", "", "USD"],
]


def test_amounts_become_exact_minor_units(tmp_path):
    _export(tmp_path, ROWS)
    result = import_export(tmp_path, _mapping(currency="USD"))
    deals = result.tables["opportunities"].set_index("opportunity_id")
    assert deals.loc["D1", "amount_minor"] == 10010
    assert deals.loc["D2", "amount_minor"] == 7
    assert deals.loc["D2", "currency"] == "USD"  # blank cell: the mapping's currency
    assert pd.isna(deals.loc["D5", "amount_minor"])
    reasons = {(c, r): n for (_, c, r), n in result.reasons.items()}
    assert reasons == {("value", "too_many_decimals"): 1, ("ccy", "bad_currency"): 1}
    assert str(deals["amount_minor"].dtype) == "Int64"


def test_to_minor_is_exact_where_floats_are_not():
    text = pd.Series(["0.1", "0.2", "0.30", "92233720368547.75", "1.005", "", "7."])
    minor, problem = to_minor(text, 2)
    assert minor.iloc[:4].tolist() == [10, 20, 30, 9223372036854775]
    assert problem.iloc[4] == "too_many_decimals"
    assert pd.isna(minor.iloc[5]) and pd.isna(problem.iloc[5])
    assert minor.iloc[6] == 700
    assert minor_units_of("JPY") == 0 and minor_units_of("KWD") == 3
    assert minor_units_of("CNY") == 2 and minor_units_of("CNY", 4) == 4


def test_mixed_currencies_are_refused_in_one_line(tmp_path, capsys):
    _export(tmp_path, [ROWS[0], ["D9", "2024-02-01", "W", "5.00", "EUR"]])
    with pytest.raises(DataError, match=r"currency .EUR. differs from .USD.*currency_rates"):
        import_export(tmp_path, _mapping())
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "tables:\n  opportunities:\n    files: deals.csv\n    columns:\n"
        "      opportunity_id: id\n      created: {column: created, formats: ['%Y-%m-%d']}\n"
        "      amount: value\n      currency: ccy\n"
    )
    code = main(["import", str(tmp_path), "--mapping", str(mapping), "--check"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "deals.csv: row 3" in err


def test_rates_convert_to_the_reporting_currency_exactly(tmp_path):
    rows = [
        ["D1", "2024-01-02", "W", "10.01", "EUR"],  # x 1.1 = 11.011 -> 11.01
        ["D2", "2024-01-02", "W", "10.05", "EUR"],  # x 1.1 = 11.055 -> 11.06 (half even)
        ["D3", "2024-01-02", "W", "1000", "JPY"],  # 0 decimals: x 0.0067 = 6.70
        ["D4", "2024-01-02", "W", "3.00", "USD"],
        ["D5", "2024-01-02", "W", "3.00", "GBP"],  # no rate
    ]
    _export(tmp_path, rows)
    spec = _mapping(currency="USD", currency_rates={"EUR": "1.1", "JPY": 0.0067})
    result = import_export(tmp_path, spec)
    deals = result.tables["opportunities"].set_index("opportunity_id")
    assert deals["amount_minor"].to_dict() == {"D1": 1101, "D2": 1106, "D3": 670, "D4": 300}
    assert set(deals["currency"]) == {"USD"}
    assert deals.loc["D1", "source_currency"] == "EUR"
    assert deals.loc["D1", "source_amount_minor"] == 1001
    assert deals.loc["D3", "amount"] == 6.70
    reasons = {r: n for (_, _, r), n in result.reasons.items()}
    assert reasons == {"no_rate": 1}
    assert "note: amounts converted to USD: 3 rows" in summary_lines(result)
    expected = (Decimal("10.05") * Decimal("1.1")).quantize(Decimal("0.01"))
    assert int(expected * 100) == 1106


def test_rate_file_is_read_relative_to_the_mapping(tmp_path):
    _export(tmp_path, [["D1", "2024-01-02", "W", "2.00", "EUR"]])
    (tmp_path / "rates.csv").write_text("currency,rate\nEUR,1.25\n")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "currency: USD\ncurrency_rates: rates.csv\ntables:\n  opportunities:\n"
        "    files: deals.csv\n    columns:\n      opportunity_id: id\n"
        "      created: {column: created, formats: ['%Y-%m-%d']}\n"
        "      amount: value\n      currency: ccy\n"
    )
    result = import_export(tmp_path, load_mapping_spec(mapping))
    assert result.tables["opportunities"]["amount_minor"].tolist() == [250]


@pytest.mark.parametrize(
    ("top", "message"),
    [
        ({"currency_rates": {"EUR": "1.1"}}, "give currency:"),
        ({"currency": "usd"}, "currency"),
        ({"currency": "USD", "currency_rates": {"euro": "1"}}, "not a currency code"),
        ({"currency": "USD", "currency_rates": {"EUR": "-1"}}, "positive"),
    ],
)
def test_currency_mistakes_are_caught_statically(top, message):
    with pytest.raises(ValueError, match=message):
        _mapping(**top)


def test_a_generated_mixed_currency_export_converts_to_its_exact_totals(tmp_path):
    """The deal-only generator's export (two currencies, a rate file) through a mapping:
    won amounts per source currency equal the generator's exact totals to the cent."""
    from sim.history.synthetic_deal_files import make_deal_export
    from sim.history.synthetic_deals import deal_preset

    truth = deal_preset(
        "flat", currencies={"USD": 0.6, "EUR": 0.4}, currency_rates={"USD": "1", "EUR": "1.08"}
    )
    manifest = make_deal_export(tmp_path, seed=3, truth=truth)
    (tmp_path / "map.yaml").write_text(
        "currency: USD\ncurrency_rates: currency_rates.csv\ntables:\n  opportunities:\n"
        "    files: sales_pipeline.csv\n    columns:\n      opportunity_id: opportunity_id\n"
        "      outcome: {column: deal_stage, values: {Won: won, Lost: lost, Engaging: open,"
        " Prospecting: open}}\n"
        "      created: {column: engage_date, formats: ['%Y-%m-%d']}\n"
        "      amount: close_value\n      currency: currency\n"
    )
    result = import_export(tmp_path, load_mapping_spec(tmp_path / "map.yaml"))
    deals = result.tables["opportunities"]
    won = deals[deals["outcome"] == "won"]
    totals = won.groupby("source_currency")["source_amount_minor"].sum()
    expected = manifest["deals"]["won_amount_total"]
    assert {k: int(v) for k, v in totals.items()} == {
        k: int(Decimal(v) * 100) for k, v in expected.items()
    }
    eur = won[won["source_currency"] == "EUR"]
    converted = [
        int((Decimal(int(m)) * Decimal("1.08")).quantize(Decimal("1"), "ROUND_HALF_EVEN"))
        for m in eur["source_amount_minor"]
    ]
    assert eur["amount_minor"].tolist() == converted
