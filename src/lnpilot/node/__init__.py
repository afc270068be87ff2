"""The seam between lnpilot's engine and the node: typed domain objects and backends."""
