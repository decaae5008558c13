"""sim/apiserver."""
