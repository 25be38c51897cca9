"""The event log: record (group commit + listeners), query (filters, paging), render (JSON)."""
