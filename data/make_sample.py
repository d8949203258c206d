#!/usr/bin/env python3
"""Cut the bundled Online Retail sample out of the full UCI "Online Retail" CSV.

Usage: python3 data/make_sample.py path/to/online_retail.csv [output.csv]

The source is the CSV conversion of the UCI workbook (header
InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country,
dates as YYYY-MM-DD HH:MM:SS). The output (default: online_retail_sample.csv next to
this script) keeps, in the original file order and byte for byte:

* every row of every customer whose CustomerID satisfies crc32(id) % 7 == 0
  (cancellations, postage and other non-product lines, zero prices and exact
  duplicates included, so the cleaning rules have something to do), and
* every row of the invoices without a CustomerID whose InvoiceNo satisfies
  crc32(invoice) % 100 == 0 (rows with an empty customer id).

Standard library only; the selection is deterministic.
"""

import csv
import os
import sys
import zlib

CUSTOMER_MOD = 7
ANONYMOUS_INVOICE_MOD = 100


def selected(row):
    invoice, customer = row[0], row[6].strip()
    if customer:
        return zlib.crc32(customer.encode("utf-8")) % CUSTOMER_MOD == 0
    return zlib.crc32(invoice.encode("utf-8")) % ANONYMOUS_INVOICE_MOD == 0


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit(__doc__)
    source = argv[1]
    out = argv[2] if len(argv) == 3 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "online_retail_sample.csv")
    kept = 0
    with open(source, newline="", encoding="utf-8") as src, open(out, "w", newline="", encoding="utf-8") as dst:
        reader = csv.reader(src)
        writer = csv.writer(dst, lineterminator="\n")
        writer.writerow(next(reader))
        for row in reader:
            if selected(row):
                writer.writerow(row)
                kept += 1
    print(f"{out}: {kept} rows", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
