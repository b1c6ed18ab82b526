"""HTML pages for people: the run and gate report, the rollout run page, the shortlist review page.

Each page is one self-contained file (inline CSS and JS, images as data URIs, no network) written
next to the machine-readable reports, readable without JavaScript.
"""
