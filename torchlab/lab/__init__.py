"""The course: its labs (catalog), a learner's copy of one (workspace), and what the labs' smoke
runner answers (smoke)."""
