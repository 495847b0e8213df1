"""EPCIS 2.0 (GS1): traceability events as JSON-LD documents, exported from our model
(export.py) and captured from partners into it (capture.py), both checked against GS1's
EPCIS 2.0 JSON schema (schema.py, EPCIS-JSON-Schema.json)."""
