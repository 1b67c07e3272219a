"""scheduler room of scos-gr."""
