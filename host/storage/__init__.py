"""Storage bindings on files (SPEC 2.2): KV namespaces, D1 databases and R2 buckets under data/."""
