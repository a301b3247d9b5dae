"""Test doubles for the services ChatDirect talks to (see ``provider_server``)."""
