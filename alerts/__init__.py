"""From detections to alerts: scoring, the alert and post documents, and the indices they are kept in.

It may import the core and ``trailhound.detectors``, never the stream worker or the commands.
"""
