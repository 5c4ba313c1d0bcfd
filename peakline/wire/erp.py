"""Row models for ERP data (CSV files and MQTT messages) and the ERP MQTT payloads.

One row model per table, quantities in sellable units, dates ISO ``YYYY-MM-DD`` (times of web
shop orders ``YYYY-MM-DDTHH:MM[:SS]``, the plant's local time). The CSV
importer derives its column checks from these models (``column_specs``), so a CSV file and
an MQTT message are held to the same rules. MQTT payloads on
``peakline/v1/<site>/erp/<kind>`` are ``{"schema": "peakline.erp.<kind>/1", "rows": [...]}``;
rows carry absolute values (the day's total orders, an order's current quantity, the
on-hand count), never deltas, so the same message applied twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import typing
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

import annotated_types
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from peakline.wire.codec import INT_MAX, Payload, WireError, load_json_object

__all__ = [
    "ERP_KINDS",
    "ERP_MESSAGES",
    "ROW_MODELS",
    "BomRow",
    "CancellationRow",
    "ColumnSpec",
    "DemandRow",
    "ErpCancellations",
    "ErpInventory",
    "ErpKind",
    "ErpOrders",
    "ErpPrices",
    "ErpPurchaseOrders",
    "ErpSales",
    "InventoryRow",
    "LineRow",
    "MaterialRow",
    "OpenOrderRow",
    "PriceRow",
    "PurchaseOrderRow",
    "PurchaseOrderUpdateRow",
    "SalesRow",
    "ShopOrderRow",
    "SkuRow",
    "SupplierItemRow",
    "SupplierRow",
    "column_specs",
    "parse_erp",
]

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


#: dates and times outside these years are refused: the forecast's and the plans' date ranges
#: (pandas nanoseconds end in 2262) must hold every one of them, with a horizon on top
YEARS = (1990, 2100)


def _in_years(value: Any) -> Any:
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise ValueError(f"year {value.year} is outside {YEARS[0]}..{YEARS[1]}")
    return value


def _iso_date(value: Any) -> Any:
    if isinstance(value, dt.date):
        return _in_years(value)
    if not isinstance(value, str) or not _ISO.match(value):
        raise ValueError("date must be ISO YYYY-MM-DD")
    return _in_years(dt.date.fromisoformat(value))


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")


def _iso_time(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return _in_years(value)
    if not isinstance(value, str) or not _ISO_TIME.match(value):
        raise ValueError("time must be ISO YYYY-MM-DDTHH:MM[:SS]")
    return _in_years(dt.datetime.fromisoformat(value))


IsoTime = Annotated[dt.datetime, BeforeValidator(_iso_time)]
Text = Annotated[str, Field(min_length=1, max_length=64)]
#: the largest quantity or price an ERP row may carry
MAX_QUANTITY = 1e12
#: the longest lead time or shelf life (ten years): the planner adds them to dates
MAX_DAYS = 3650


class _Row(BaseModel):
    # strict: a quantity is a JSON number, never ``true`` or ``"5"``; finite: ``1e400`` (inf)
    # must not reach the forecast as an order quantity
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    @model_validator(mode="after")
    def _fits(self) -> Any:
        """Every integer fits the store's 32-bit columns (and never wraps through int64);
        every number stays below MAX_QUANTITY, far beyond any real quantity or price."""
        for name, value in self.__dict__.items():
            if isinstance(value, bool):
                continue
            if isinstance(value, int) and abs(value) > INT_MAX:
                raise ValueError(f"{name} {value} is larger than {INT_MAX}")
            if isinstance(value, float) and abs(value) > MAX_QUANTITY:
                raise ValueError(f"{name} {value:g} is larger than {MAX_QUANTITY:g}")
        return self


class SkuRow(_Row):
    """A sellable product: flavour x packaging x channel (skus.csv)."""

    sku: Text = Field(description="SKU code")
    flavour: Text = Field(description="filling, e.g. lotus, red bean, salted yolk")
    packaging: Text = Field(description="gift box, tin, tray, single, ...")
    channel: Text = Field(description="oem (brand orders) or ecommerce, ...")
    price: float = Field(ge=0, description="selling price per unit")
    unit_cost: float = Field(ge=0, description="cost to make one unit")
    salvage_value: float = Field(ge=0, description="value of a unit left after the festival")
    shelf_life_days: int = Field(ge=0, le=MAX_DAYS,
                                 description="days a unit can be sold after production")
    units_per_case: int = Field(ge=1, description="units in one shipping case")


class DemandRow(_Row):
    """Daily history of one SKU (demand.csv): gross orders and cancellations."""

    sku: Text = Field(description="SKU code")
    date: IsoDate = Field(description="day, YYYY-MM-DD")
    orders: float = Field(ge=0, description="units ordered that day")
    cancellations: float = Field(ge=0, description="units cancelled that day")


class SalesRow(_Row):
    """One day's orders of one SKU (MQTT ``erp/sales``): sets demand.orders."""

    sku: Text = Field(description="SKU code")
    date: IsoDate = Field(description="day, YYYY-MM-DD")
    orders: float = Field(ge=0, description="units ordered that day (the day's total)")


class CancellationRow(_Row):
    """One day's cancellations of one SKU (MQTT ``erp/cancellations``)."""

    sku: Text = Field(description="SKU code")
    date: IsoDate = Field(description="day, YYYY-MM-DD")
    cancellations: float = Field(ge=0, description="units cancelled that day (the day's total)")


class OpenOrderRow(_Row):
    """An order not shipped yet (open_orders.csv, MQTT ``erp/orders``)."""

    order_id: Text = Field(description="ERP order number")
    sku: Text = Field(description="SKU code")
    order_date: IsoDate = Field(description="day the order was placed")
    due_date: IsoDate = Field(description="day the customer needs it (ship-by)")
    qty: float = Field(ge=0, description="units ordered")
    channel: Text = Field(description="sales channel")


class OrderUpdateRow(OpenOrderRow):
    """An order over MQTT; ``status: closed`` (shipped or cancelled) removes it."""

    status: Literal["open", "closed"] = Field(default="open", description="open or closed")


class InventoryRow(_Row):
    """On-hand stock of one item on one day (inventory.csv, MQTT ``erp/inventory``)."""

    item: Text = Field(description="SKU code or material/packaging item")
    kind: Literal["sku", "material", "packaging"] = Field(description="what the item is")
    on_hand: float = Field(ge=0, description="units (or material units) on hand")
    as_of: IsoDate = Field(description="day of the count")


class MaterialRow(_Row):
    """A raw material or packaging item and how it is bought (materials.csv)."""

    item: Text = Field(description="item code")
    kind: Literal["material", "packaging"] = Field(description="material or packaging")
    unit: Text = Field(description="unit of measure: kg, pcs, ...")
    lead_time_days: int = Field(ge=0, le=MAX_DAYS, description="supplier lead time")
    moq: float = Field(ge=0, description="minimum order quantity")
    pack_multiple: float = Field(gt=0, description="orders are a multiple of this")
    unit_cost: float = Field(ge=0, description="cost per unit")
    shelf_life_days: int = Field(ge=0, le=MAX_DAYS, description="days usable after receipt")


class BomRow(_Row):
    """Bill of materials: how much of an item one unit of a SKU uses (bom.csv)."""

    sku: Text = Field(description="SKU code")
    item: Text = Field(description="material or packaging item code")
    qty_per_unit: float = Field(gt=0, description="item units per sellable unit")


class LineRow(_Row):
    """A production line's capacity (lines.csv)."""

    line: Text = Field(description="line name (as in the MQTT topics)")
    units_per_hour: float = Field(gt=0, description="rated output")
    hours_per_shift: float = Field(gt=0, le=24, description="productive hours per shift")
    shifts_per_day: int = Field(ge=0, le=4, description="shifts run per day")
    days_per_week: int = Field(ge=0, le=7, description="working days per week")


class SupplierRow(_Row):
    """A supplier of materials or packaging (suppliers.csv); its code names its MQTT topics."""

    supplier: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                          description="supplier code (letters, digits, _ . -; one topic level)")
    name: Text = Field(description="the supplier's name")


class SupplierItemRow(_Row):
    """An item a supplier delivers and on what terms (supplier_items.csv)."""

    supplier: Text = Field(description="supplier code")
    item: Text = Field(description="material or packaging item code")
    lead_time_days: int = Field(ge=0, le=MAX_DAYS,
                                description="days from order to delivery (typical)")
    lead_time_sd_days: float = Field(ge=0, description="spread (standard deviation) of the lead "
                                     "time in days")
    moq: float = Field(ge=0, description="minimum order quantity at this supplier")
    pack_multiple: float = Field(gt=0, description="orders to this supplier are a multiple of this")
    capacity_per_week: float = Field(gt=0, description="most it can deliver of the item per week")


class PriceRow(_Row):
    """A material's price on one day (prices.csv, MQTT ``erp/prices``)."""

    item: Text = Field(description="material or packaging item code")
    date: IsoDate = Field(description="day of the quote, YYYY-MM-DD")
    price: float = Field(gt=0, description="price per item unit (the currency of unit_cost)")


class PurchaseOrderRow(_Row):
    """An open purchase order line to a supplier (purchase_orders.csv): goods on order."""

    po_id: Text = Field(description="ERP purchase order number")
    supplier: Text = Field(description="supplier code (must supply the item)")
    item: Text = Field(description="material or packaging item code")
    order_date: IsoDate = Field(description="day the order was placed")
    due_date: IsoDate = Field(description="day the supplier is to deliver (not before "
                              "order_date)")
    qty: float = Field(gt=0, description="quantity still to be received, in the item's unit")


class PurchaseOrderUpdateRow(PurchaseOrderRow):
    """A purchase order line over MQTT; ``status: closed`` (received or cancelled) removes it."""

    status: Literal["open", "closed"] = Field(default="open", description="open or closed")


class ShopOrderRow(_Row):
    """One line of a web shop order (shop_orders.csv, MQTT ``erp/shop_orders``).

    Lines of one order share its customer, time, region and delivery date. A row with
    ``cancelled_at`` records the order's cancellation (before its delivery)."""

    order_id: Text = Field(description="web shop order number")
    customer: Text = Field(description="customer id (pseudonymous)")
    placed_at: IsoTime = Field(description="when the order was placed, YYYY-MM-DDTHH:MM")
    sku: Text = Field(description="SKU code")
    qty: int = Field(ge=1, le=1_000_000, description="boxes of this SKU")
    unit_price: float = Field(ge=0, description="price paid per box")
    region: Text = Field(description="delivery region")
    delivery_date: IsoDate = Field(description="delivery day the customer chose")
    cancelled_at: IsoTime | None = Field(default=None, description="when it was cancelled")


class HoldRow(_Row):
    """A held order (holds.csv, MQTT ``erp/holds``): kept in safekeeping, delivered later."""

    order_id: Text = Field(description="web shop order number (must be known, not cancelled)")
    held_until: IsoDate = Field(description="delivery day the customer picked")


#: table kind -> (row model, key columns)
ROW_MODELS: dict[str, tuple[type[_Row], tuple[str, ...]]] = {
    "skus": (SkuRow, ("sku",)),
    "materials": (MaterialRow, ("item",)),
    "lines": (LineRow, ("line",)),
    "bom": (BomRow, ("sku", "item")),
    "inventory": (InventoryRow, ("item", "as_of")),
    "demand": (DemandRow, ("sku", "date")),
    "open_orders": (OpenOrderRow, ("order_id",)),
    "sales": (SalesRow, ("sku", "date")),
    "cancellations": (CancellationRow, ("sku", "date")),
    "suppliers": (SupplierRow, ("supplier",)),
    "supplier_items": (SupplierItemRow, ("supplier", "item")),
    "prices": (PriceRow, ("item", "date")),
    "purchase_orders": (PurchaseOrderRow, ("po_id", "item")),
    "shop_orders": (ShopOrderRow, ("order_id", "sku")),
    "holds": (HoldRow, ("order_id",)),
}


class _Message(Payload):

    source: str = Field(default="", max_length=128, description="sending ERP system")
    sent_at: float = Field(default=0.0, description="Unix seconds when sent")


class ErpSales(_Message):
    """Daily order totals per SKU -> demand.orders."""

    schema_: Literal["peakline.erp.sales/1"] = Field(default="peakline.erp.sales/1", alias="schema")
    rows: list[SalesRow] = Field(min_length=1, max_length=50_000)


class ErpCancellations(_Message):
    """Daily cancellation totals per SKU -> demand.cancellations."""

    schema_: Literal["peakline.erp.cancellations/1"] = Field(
        default="peakline.erp.cancellations/1", alias="schema"
    )
    rows: list[CancellationRow] = Field(min_length=1, max_length=50_000)


class ErpOrders(_Message):
    """Open orders (new or changed); ``status: closed`` removes one -> open_orders."""

    schema_: Literal["peakline.erp.orders/1"] = Field(
        default="peakline.erp.orders/1", alias="schema"
    )
    rows: list[OrderUpdateRow] = Field(min_length=1, max_length=50_000)


class ErpInventory(_Message):
    """On-hand counts -> inventory."""

    schema_: Literal["peakline.erp.inventory/1"] = Field(
        default="peakline.erp.inventory/1", alias="schema"
    )
    rows: list[InventoryRow] = Field(min_length=1, max_length=50_000)


class ErpPrices(_Message):
    """Material prices (market quotes or paid prices) -> prices."""

    schema_: Literal["peakline.erp.prices/1"] = Field(
        default="peakline.erp.prices/1", alias="schema"
    )
    rows: list[PriceRow] = Field(min_length=1, max_length=50_000)


class ErpPurchaseOrders(_Message):
    """Open purchase order lines (new or changed); ``status: closed`` removes one."""

    schema_: Literal["peakline.erp.purchase_orders/1"] = Field(
        default="peakline.erp.purchase_orders/1", alias="schema"
    )
    rows: list[PurchaseOrderUpdateRow] = Field(min_length=1, max_length=50_000)


class ErpShopOrders(_Message):
    """Web shop order lines (new, or cancelled with ``cancelled_at``) -> shop_orders."""

    schema_: Literal["peakline.erp.shop_orders/1"] = Field(
        default="peakline.erp.shop_orders/1", alias="schema"
    )
    rows: list[ShopOrderRow] = Field(min_length=1, max_length=50_000)


class ErpHolds(_Message):
    """Orders the customer accepted to hold, with the delivery day they picked -> holds."""

    schema_: Literal["peakline.erp.holds/1"] = Field(
        default="peakline.erp.holds/1", alias="schema"
    )
    rows: list[HoldRow] = Field(min_length=1, max_length=50_000)


class ErpKind(StrEnum):
    """The ERP topics' last level: ``peakline/v1/<site>/erp/<kind>``."""

    SALES = "sales"
    CANCELLATIONS = "cancellations"
    ORDERS = "orders"
    INVENTORY = "inventory"
    PRICES = "prices"
    SHOP_ORDERS = "shop_orders"
    HOLDS = "holds"
    PURCHASE_ORDERS = "purchase_orders"


#: topic leaf -> message model
ERP_MESSAGES: dict[ErpKind, type[_Message]] = {
    ErpKind.SALES: ErpSales,
    ErpKind.CANCELLATIONS: ErpCancellations,
    ErpKind.ORDERS: ErpOrders,
    ErpKind.INVENTORY: ErpInventory,
    ErpKind.PRICES: ErpPrices,
    ErpKind.SHOP_ORDERS: ErpShopOrders,
    ErpKind.HOLDS: ErpHolds,
    ErpKind.PURCHASE_ORDERS: ErpPurchaseOrders,
}
ERP_KINDS: tuple[str, ...] = tuple(k.value for k in ErpKind)


def parse_erp(kind: str, raw: bytes) -> _Message:
    """Validate an ERP message for topic leaf ``kind``; WireError saying why not."""
    if kind not in ERP_KINDS:
        raise WireError(f"unknown ERP topic {kind!r}; expected one of {', '.join(ERP_KINDS)}")
    model = ERP_MESSAGES[ErpKind(kind)]
    data = load_json_object(raw)
    expected = model.schema_tag
    if data.get("schema") != expected:
        raise WireError(f"expected schema {expected!r} on erp/{kind}, got {data.get('schema')!r}")
    try:
        return model.model_validate(data)
    except ValueError as exc:
        raise WireError(f"invalid {expected}: {exc}") from exc


@dataclass(frozen=True)
class ColumnSpec:
    """What the CSV importer checks in one column (derived from a row model field)."""

    name: str
    type: str  # "str" | "int" | "float" | "date" | "time" | "choice"
    choices: tuple[str, ...] = ()
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    max_len: int | None = None
    pattern: str | None = None
    optional: bool = False  # an empty cell (or a missing field) is allowed


def column_specs(model: type[BaseModel]) -> list[ColumnSpec]:
    """The column checks of a row model, in field order."""
    specs = []
    for name, info in model.model_fields.items():
        ann = info.annotation
        choices: tuple[str, ...] = ()
        args = typing.get_args(ann)
        optional = type(None) in args and not info.is_required()
        if optional:
            ann = next(a for a in args if a is not type(None))
            if typing.get_origin(ann) is Annotated:
                ann = typing.get_args(ann)[0]
        if typing.get_origin(ann) is Literal:
            kind, choices = "choice", tuple(str(a) for a in typing.get_args(ann))
        elif ann is dt.datetime:
            kind = "time"
        elif ann is dt.date:
            kind = "date"
        elif ann is int:
            kind = "int"
        elif ann is float:
            kind = "float"
        else:
            kind = "str"
        bounds: dict[str, Any] = {}
        for meta in info.metadata:
            if isinstance(getattr(meta, "pattern", None), str):
                bounds["pattern"] = meta.pattern
            if isinstance(meta, annotated_types.MaxLen):
                bounds["max_len"] = int(meta.max_length)
            for attr, cls in (("ge", annotated_types.Ge), ("gt", annotated_types.Gt),
                              ("le", annotated_types.Le)):
                if isinstance(meta, cls):
                    bounds[attr] = float(getattr(meta, attr))
        specs.append(ColumnSpec(name, kind, choices, optional=optional, **bounds))
    return specs
