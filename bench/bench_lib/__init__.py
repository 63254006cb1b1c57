"""The pieces of ``bench/run.py``: one module per thing measured, plus the report (a pure function)."""
