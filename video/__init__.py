"""Live camera video: the camera hub and the WebRTC relay signalled by WHEP.

    camera (RTSP/H.264, or any URL FFmpeg opens)
        │ pulled once per camera (source.py: PyAV in a thread, reconnect with backoff)
        ▼
    CameraSource ── GOP cache (gop.py) ── health figures ──► health.py ──► twin, InfluxDB
        │ encoded packets                    │ decoded yuv420p frames (only when asked)
        ▼                                    ▼
    PacketTrack per viewer              FrameTrack per viewer (transcode), snapshots,
    (H.264 forwarded as received)       analytics
        │                                    │
        └──── relay.py: one RTCPeerConnection per viewer, bounded, reaped ────┘
                          ▲
                          │ whep.py: POST offer → 201 answer + Location; DELETE ends it

``citytwin video`` (service.py) runs the hub, the relay and their HTTP routes in one
process, since the peer connections must live where the packets are.
"""
