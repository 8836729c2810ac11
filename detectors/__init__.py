"""Everything that looks at a post and reports evidence: normalisation, extraction, the pattern
library and matcher, and the online models.

Detectors never decide whether something is an alert (that is ``trailhound.alerts``), and they import
only the core.
"""
