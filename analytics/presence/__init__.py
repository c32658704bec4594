"""Presence of people per camera zone, from sampled grey frames and their capture times.

Pure computation, fed by whoever decodes frames (the video hub): ``motion`` says whether a
sample changed, ``detector`` finds people (OpenCV's HOG pedestrian model and its Haar face
cascades, both inside the ``opencv-python-headless`` wheel), ``hysteresis`` turns samples
into enter/leave changes, and ``camera`` puts them together for one camera's zones.
Nothing here knows about streams, MQTT or InfluxDB.
"""
