"""Local ICE candidates the relay (and citytwin's WHEP client) offer, by policy.

aioice leaves 127.0.0.1 out of its host candidates, so on a loopback-only host an aiortc
answer has none and no viewer can connect. Before ``setLocalDescription`` gathers, this
module gathers each transport's candidates itself on the addresses the policy names —
127.0.0.1 alone (``loopback``), or every interface address plus 127.0.0.1 (``host``) — and
marks gathering done, so aiortc goes on with these. It reaches into aiortc's gatherer
(``RTCIceGatherer._connection``) and aioice's gathering flags, which neither exposes:
the reason aiortc is pinned to 1.16.x; tests/video/test_whep_client.py connects through
it on loopback and fails if either library changes underneath.
"""

from __future__ import annotations

from aioice.ice import get_host_addresses
from aiortc import RTCPeerConnection

from video.settings import CandidatePolicy

LOOPBACK = "127.0.0.1"


def addresses_for(policy: CandidatePolicy) -> list[str]:
    """The local addresses to gather host candidates on."""
    if policy is CandidatePolicy.LOOPBACK:
        return [LOOPBACK]
    return [*get_host_addresses(use_ipv4=True, use_ipv6=True), LOOPBACK]


async def gather_candidates(pc: RTCPeerConnection, policy: CandidatePolicy) -> None:
    """Gather every not-yet-gathered transport of ``pc`` on the policy's addresses."""
    addresses = addresses_for(policy)
    seen: set[int] = set()
    for transceiver in pc.getTransceivers():
        gatherer = transceiver.sender.transport.transport.iceGatherer
        if id(gatherer) in seen or gatherer.state != "new":
            continue
        seen.add(id(gatherer))
        connection = gatherer._connection
        if connection._local_candidates_start:
            continue
        connection._local_candidates_start = True
        connection._local_candidates += await connection.get_component_candidates(
            component=1, addresses=addresses
        )
        connection._local_candidates_end = True
