"""ERP CSV import: strict checks that name file, row and column, and all-or-nothing files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from peakline.cli import main
from peakline.errors import DataError
from plant.store import Store

FILES = {
    "skus": """\
        sku,flavour,packaging,channel,price,unit_cost,salvage_value,shelf_life_days,units_per_case
        LOTUS-GB-OEM,lotus,gift_box,oem,12.5,4.0,1.0,45,24
        YOLK-TIN-EC,salted_yolk,tin,ecommerce,19.9,6.1,2.0,40,12
        """,
    "materials": """\
        item,kind,unit,lead_time_days,moq,pack_multiple,unit_cost,shelf_life_days
        lotus_paste,material,kg,14,200,25,6.5,90
        gift_box_lotus,packaging,pcs,42,5000,500,0.8,720
        """,
    "lines": """\
        line,units_per_hour,hours_per_shift,shifts_per_day,days_per_week
        L1,2400,7.5,2,6
        """,
    "bom": """\
        sku,item,qty_per_unit
        LOTUS-GB-OEM,lotus_paste,0.06
        LOTUS-GB-OEM,gift_box_lotus,0.25
        """,
    "inventory": """\
        item,kind,on_hand,as_of
        LOTUS-GB-OEM,sku,1200,2025-08-01
        lotus_paste,material,350.5,2025-08-01
        """,
    "demand": """\
        sku,date,orders,cancellations
        LOTUS-GB-OEM,2025-08-01,120,3
        LOTUS-GB-OEM,2025-08-02,140,0
        YOLK-TIN-EC,2025-08-01,80,12
        """,
    "open_orders": """\
        order_id,sku,order_date,due_date,qty,channel
        SO-1001,LOTUS-GB-OEM,2025-07-20,2025-09-01,4800,oem
        """,
}


def write(folder: Path, kind: str, text: str) -> Path:
    path = folder / f"{kind}.csv"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "erp"
    out.mkdir()
    for kind, text in FILES.items():
        write(out, kind, text)
    return out


def test_a_folder_imports_in_reference_order_and_twice_changes_nothing(
    store: Store, folder: Path
) -> None:
    first = store.import_dir(folder)
    assert first == {"skus": 2, "materials": 2, "lines": 1, "bom": 2, "inventory": 2,
                     "demand": 3, "open_orders": 1}
    before = {name: getattr(store, name)() for name in
              ("skus", "materials", "lines", "bom", "inventory", "demand_history", "open_orders")}
    store.import_dir(folder)
    for name, frame in before.items():
        assert getattr(store, name)().equals(frame), name
    assert store.lines()["units_per_hour"].tolist() == [2400.0]
    assert store.inventory().set_index("item")["on_hand"].to_dict() == {
        "LOTUS-GB-OEM": 1200.0, "lotus_paste": 350.5}


BAD_DEMAND = [
    ("sku,date,orders\nLOTUS-GB-OEM,2025-08-01,1\n",
     r"demand\.csv, header, column 'cancellations': missing column"),
    ("sku,date,orders,cancellations\nLOTUS-GB-OEM,2025-08-01,1,0\nLOTUS-GB-OEM,01/08/2025,1,0\n",
     r"demand\.csv, row 2 \(line 3\), column 'date': not a date in YYYY-MM-DD form "
     r"\(got '01/08/2025'\)"),
    ("sku,date,orders,cancellations\nLOTUS-GB-OEM,2025-08-01,1,0\nLOTUS-GB-OEM,2025-02-30,1,0\n",
     r"row 2 \(line 3\), column 'date': not a date"),
    ("sku,date,orders,cancellations\nLOTUS-GB-OEM,2025-08-01,1,0\nLOTUS-GB-OEM,2025-08-02,1,-4\n",
     r"row 2 \(line 3\), column 'cancellations': negative \(got '-4'\)"),
    ("sku,date,orders,cancellations\nLOTUS-GB-OEM,2025-08-01,many,0\n",
     r"row 1 \(line 2\), column 'orders': not a number \(got 'many'\)"),
    ("sku,date,orders,cancellations\nLOTUS-GB-OEM,2025-08-01,1,0\nMOON-X,2025-08-01,1,0\n",
     r"demand\.csv, row 2 \(line 3\), column 'sku': unknown SKU 'MOON-X'"),
    ("sku,date,orders,cancellations\nLOTUS-GB-OEM,2025-08-01,1,0\n,2025-08-02,1,0\n",
     r"row 2 \(line 3\), column 'sku': empty"),
    ("sku,date,orders,cancellations\nLOTUS-GB-OEM,2025-08-01,1,0\nLOTUS-GB-OEM,2025-08-01,2,0\n",
     r"row 2 \(line 3\), column 'sku': repeats the key \(sku=LOTUS-GB-OEM, date=2025-08-01\) "
     r"of row 1"),
]


@pytest.mark.parametrize(("text", "message"), BAD_DEMAND)
def test_a_bad_demand_file_names_row_and_column_and_imports_nothing(
    store: Store, folder: Path, text: str, message: str
) -> None:
    store.import_csv("skus", folder / "skus.csv")
    good_rows = "".join(f"LOTUS-GB-OEM,2024-{m:02d}-{d:02d},5,0\n"
                        for m in range(1, 13) for d in range(1, 29))
    header, _, rest = text.partition("\n")
    if "cancellations" in header:  # many good rows first: the bad one must not leave them
        text = header + "\n" + good_rows + rest
        message = _shift_rows(message, 12 * 28)
    path = write(folder, "demand", text)
    with pytest.raises(DataError, match=message):
        store.import_csv("demand", path)
    assert store.demand_history().empty


def _shift_rows(message: str, by: int) -> str:
    import re

    def bump(m: re.Match[str]) -> str:
        return f"{m.group(1)}{int(m.group(2)) + by}"

    message = re.sub(r"(row )(\d+)", bump, message)
    return re.sub(r"(line )(\d+)", bump, message)


def test_other_tables_check_their_own_rules(store: Store, folder: Path) -> None:
    store.import_dir(folder)
    cases = {
        "materials": ("item,kind,unit,lead_time_days,moq,pack_multiple,unit_cost,shelf_life_days\n"
                      "tin_red,crate,pcs,10,1,1,1,1\n", r"column 'kind': must be one of"),
        "lines": ("line,units_per_hour,hours_per_shift,shifts_per_day,days_per_week\n"
                  "L2,100,8,2.5,5\n", r"column 'shifts_per_day': not a whole number"),
        "bom": ("sku,item,qty_per_unit\nLOTUS-GB-OEM,unobtainium,1\n",
                r"column 'item': unknown material or packaging item 'unobtainium'"),
        "inventory": ("item,kind,on_hand,as_of\nNOPE,sku,1,2025-08-01\n",
                      r"column 'item': unknown SKU 'NOPE'"),
        "open_orders": ("order_id,sku,order_date,due_date,qty,channel\n"
                        "SO-9,LOTUS-GB-OEM,2025-07-20,2025-09-01,-1,oem\n",
                        r"open_orders\.csv, row 1 \(line 2\), column 'qty': negative"),
    }
    for kind, (text, message) in cases.items():
        with pytest.raises(DataError, match=message):
            store.import_csv(kind, write(folder, kind, text))
    assert store.lines()["line"].tolist() == ["L1"]
    assert store.open_orders()["order_id"].tolist() == ["SO-1001"]


def test_unreadable_inputs(store: Store, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        store.import_csv("demand", tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty file"):
        store.import_csv("demand", tmp_path / "empty.csv")
    with pytest.raises(DataError, match="unknown kind"):
        store.import_csv("recipes", tmp_path / "empty.csv")


def test_cli_import_reports_the_error_and_exits_2(
    tmp_path: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["plant", "import", "--db", db, "--dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "demand" in out and "3 rows" in out
    write(folder, "demand", "sku,date,orders,cancellations\nLOTUS-GB-OEM,2025-13-01,1,0\n")
    assert main(["plant", "import", "--db", db, "--kind", "demand",
                 str(folder / "demand.csv")]) == 2
    err = capsys.readouterr().err
    assert "demand.csv, row 1 (line 2), column 'date'" in err
    with Store.open(db) as store:
        assert len(store.demand_history()) == 3
