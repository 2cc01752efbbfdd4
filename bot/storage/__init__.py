"""Storage: database engine, tables and repositories (SQLAlchemy 2)."""
