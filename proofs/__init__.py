"""Properties of the model, checked with z3: named theorems, each citing its RFC section."""
