"""State diagrams drawn from the model's tables with graphviz."""
