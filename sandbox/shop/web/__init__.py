"""The shop's HTTP surface: one Litestar route module per service, plus the gateway."""
