"""torchlab bench: measure (torch + stdlib only), peaks (sourced table), report (fractions, compare, plot)."""
