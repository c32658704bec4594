"""The citytwin domain: device identity, the MQTT device contract and the digital twins.

Nothing here imports the other citytwin packages; ingest, analytics, simulators and the
application shell all build on it.
"""
