"""The success predictor of a tool call: point-in-time features (`features`), training and
evaluation against baselines (`training`), the stored model versions and predictions
(`store`)."""
