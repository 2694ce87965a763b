// Empty on purpose: the baseline of the CLI start-up bench.
