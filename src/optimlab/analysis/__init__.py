"""The mathematics of tuning applied to a run: curvature, stability bounds, diagnosis, range tests."""
