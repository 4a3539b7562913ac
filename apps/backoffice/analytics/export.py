"""The sales report as a file: CSV, or XLSX with a summary sheet (openpyxl)."""

import io

import pandas as pd

from apps.contracts.analytics import SalesReport

EXPORT_COLUMNS = ["period", "start", "orders", "revenue", "refunds", "net", "aov", "items_sold"]


def export_table(report: SalesReport) -> pd.DataFrame:
    """The series of a sales report, one row a period, amounts as numbers with two places."""
    rows = [
        {
            "period": p.period,
            "start": p.start.isoformat(),
            "orders": p.orders,
            "revenue": float(p.revenue),
            "refunds": float(p.refunds),
            "net": float(p.net),
            "aov": float(p.aov),
            "items_sold": p.items_sold,
        }
        for p in report.series
    ]
    return pd.DataFrame(rows, columns=EXPORT_COLUMNS)


def to_csv(table: pd.DataFrame) -> bytes:
    return table.to_csv(index=False, float_format="%.2f").encode()


def to_xlsx(table: pd.DataFrame, report: SalesReport) -> bytes:
    out = io.BytesIO()
    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        table.to_excel(writer, sheet_name="sales", index=False)
        summary = pd.DataFrame(
            [
                ("start_date", report.start_date.isoformat()),
                ("end_date", report.end_date.isoformat()),
                ("currency", report.currency),
                ("orders", report.totals.orders),
                ("revenue", float(report.totals.revenue)),
                ("refunds", float(report.totals.refunds)),
                ("net", float(report.totals.net)),
                ("aov", float(report.totals.aov)),
            ],
            columns=["figure", "value"],
        )
        summary.to_excel(writer, sheet_name="summary", index=False)
    return out.getvalue()
