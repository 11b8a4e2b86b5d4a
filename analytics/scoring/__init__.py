"""Predictive customer scoring: features from repairs, payments, site visits and notifications;
scikit-learn models for churn, 12-month value and the next repair; 0–100 scores with their reasons,
segments and recommended actions. See docs/scoring.md."""
