"""SQL metadata on SQLite or PostgreSQL: the database, its migrations and one module per store."""
