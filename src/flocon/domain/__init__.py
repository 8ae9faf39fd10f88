"""Pure core of flocon: records, the query language, normalisation and dedup keys. No I/O here."""
