"""Pure domain logic: no database, no Flask."""
