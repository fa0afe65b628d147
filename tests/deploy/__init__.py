"""The production layout's files and processes, proved on real components."""
