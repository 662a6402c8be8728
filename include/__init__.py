"""Model monitoring core: data, model, evaluation and the model evaluation store (MES).

Nothing in this package imports Airflow, so every piece is usable and testable from plain Python.
"""
