"""Entity linkage: what posts share (contacts, text templates, images) and the networks that reveals.

One ad rarely says enough; the trail is in what ads share. The modules here are pure logic, used by the
stream stages in :mod:`trailhound.streams.linkage` and by ``bench/linkage.py``:

- :mod:`.keys` — the linkage keys of one post (normalised contacts, image-hash chunks, text LSH bands);
- :mod:`.key_index` — the owner of a set of keys finds which earlier posts a new one links to, and
  which keys are hubs (a hotel switchboard) that must not link anything;
- :mod:`.clusters` — links merged into entity clusters with stable, order-independent ids;
- :mod:`.networks` — circuit, template, velocity and shared-image detectors and the alert decision;
- :mod:`.image_index` — Hamming-distance search over image hashes (multi-index hashing);
- :mod:`.watchlist` — partners' watched contacts and images, matched against each post.
"""
