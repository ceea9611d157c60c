"""`torchlab doctor`: the facts (probed, or read back from a saved report or a collect_env text)
diagnosed into a plan and findings (diagnose), shown to people (render), and optionally proven
with a throw-away GPU container (gpuprobe)."""
