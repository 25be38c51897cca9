"""One module per resource family; handlers parse, call one service, return."""
