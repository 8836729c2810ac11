"""The operations-center console: a signed-in web application over alerts, evidence and verdicts.

Analysts keep it open all day: a live queue of alerts, each alert's evidence highlighted in the post as
written, and the actions (acknowledge, escalate, dismiss, label) that feed the lifecycle and the online
models. It sits at the commands layer: it reads what the pipeline wrote and calls the alert lifecycle,
it never scores or stores alerts itself.
"""
