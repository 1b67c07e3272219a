"""flowgraphs room of scos-gr."""
