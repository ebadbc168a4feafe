"""The seeded fault simulation (issue 7): see docs/simulation.md. Replay one seed with
``python -m tests.simulation.run --seed N``."""
