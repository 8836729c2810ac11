"""From detections to alerts: scoring, the alert document, and where alerts are kept."""
