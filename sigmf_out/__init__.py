"""sigmf_out room of scos-gr."""
