"""State diagrams drawn from the model's tables with graphviz (``tlsmodel diagram``).

``views`` collapses the model's expanded rows to control states (the merged view, or a
projection on a family / suite / client auth / resumption); ``draw`` writes DOT text for a view;
``render`` calls graphviz's ``dot``; ``overlay`` follows a trace through the rows with the
oracle's streaming checker; ``msc`` draws the trace as a sequence chart; ``cli`` is the command.
The rendered set lives beside the code (see README.md) and ``tests/test_diagrams.py`` keeps it
fresh.
"""
