"""The scorer's findings as users read them: a household's risk with its reasons and factors in words,
scoring runs and admins' requests for one, the model card."""
