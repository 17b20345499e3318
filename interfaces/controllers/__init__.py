"""HTTP controllers: thin handlers that parse, call one use case and shape the answer."""
