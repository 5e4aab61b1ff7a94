"""One `RouterCase` per traffic router (module attribute `CASE`), walked by `tests/e2e/test_traffic_routing.py`."""
