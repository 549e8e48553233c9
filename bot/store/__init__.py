"""Storage: SQL (SQLite or PostgreSQL) behind small repository classes; faces never touch it directly."""
