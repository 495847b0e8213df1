"""GS1 and HIBCC codes as scanned or typed: `parse_code` (erp.gs1.parse)."""
