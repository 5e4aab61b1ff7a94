"""The only code that talks to the API server: client, informers, work queue, leader election, metrics."""
