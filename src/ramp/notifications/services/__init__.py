"""Notification services: one module per destination type, all behind `ramp.notifications.services.base`."""
