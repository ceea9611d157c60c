"""`torchlab doctor`: the facts (probed, or read back from a saved report or a collect_env text, however
it was pasted: paste, collect_env) diagnosed into a plan, findings and two verdicts (diagnose), shown
to people (render), and optionally proven with a throw-away GPU container (gpuprobe)."""
