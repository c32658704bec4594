"""Hardware simulators: the Thái Bình pilot's field devices, speaking only the device contract.

A scenario (``simulators/scenarios/*.yaml``) lists sites, devices, schedules and
incidents; ``simulators.runner.run_scenario`` plays it on an accelerated simulated clock,
one MQTT connection per device with its provisioned credentials, cameras streaming H.264
over RTSP, and writes the ground truth analytics are scored against.
"""
