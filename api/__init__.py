"""api room of scos-gr."""
