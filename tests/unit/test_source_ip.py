"""Which address the per-address throttles key on (http.app.source_ip): the TCP peer, unless the request proves it
came through our CloudFront distribution (whose peer is an edge server shared by everyone near it); then the
viewer's address the distribution saw. A viewer can write any header, so nothing else moves the key."""

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from botfleet.http.app import source_ip
from botfleet.origin import ORIGIN_PROOF_HEADER, VIEWER_ADDRESS_HEADER

PROOF = "s3cr3t-proof-from-secrets-manager"
EDGE = "130.176.1.10"  # a CloudFront edge server: the peer of every request the distribution forwards


def event(headers=None, peer=EDGE):
    return APIGatewayProxyEvent({"headers": headers, "requestContext": {"identity": {"sourceIp": peer}}})


def proven(viewer, proof=PROOF):
    return event({VIEWER_ADDRESS_HEADER: viewer, ORIGIN_PROOF_HEADER: proof})


@pytest.mark.parametrize("viewer, expected", [
    ("198.51.100.7", "198.51.100.7"),
    (" 198.51.100.7 ", "198.51.100.7"),
    ("2001:DB8::1", "2001:db8::1"),  # IPv6 in its canonical form (the throttle then keys on the /64)
])
def test_a_request_through_the_distribution_counts_as_its_viewer(viewer, expected):
    assert source_ip(proven(viewer), lambda: PROOF) == expected


def test_header_names_are_matched_whatever_their_case():
    headers = {VIEWER_ADDRESS_HEADER.title(): "198.51.100.7", ORIGIN_PROOF_HEADER.upper(): PROOF}
    assert source_ip(event(headers), lambda: PROOF) == "198.51.100.7"


@pytest.mark.parametrize("request_event", [
    event(),  # a direct call: no headers at all
    event({VIEWER_ADDRESS_HEADER: "198.51.100.7"}),  # a viewer naming any address it likes
    proven("198.51.100.7", proof="a guess"),
    proven("198.51.100.7", proof=PROOF[:-1]),
    proven("198.51.100.7", proof=""),
    proven("not an address"),
    proven("198.51.100.7:443"),  # only ever the address: a port means it did not come from our function
    event({"X-Forwarded-For": "198.51.100.7", ORIGIN_PROOF_HEADER: PROOF}),  # never X-Forwarded-For
], ids=["direct", "viewer-header-alone", "wrong-proof", "near-proof", "empty-proof", "not-an-address", "with-port",
        "x-forwarded-for"])
def test_anything_short_of_the_proof_and_an_address_counts_as_the_peer(request_event):
    assert source_ip(request_event, lambda: PROOF) == EDGE


def test_without_a_configured_proof_no_header_is_believed():
    """The emulators and a stack without the dashboard: no distribution, so no proof to match."""
    assert source_ip(proven("198.51.100.7", proof=""), lambda: "") == EDGE
    assert source_ip(proven("198.51.100.7"), lambda: "") == EDGE


def test_the_proof_is_read_only_when_a_request_offers_one():
    def unreachable():
        raise AssertionError("Secrets Manager was read for a request without the headers")

    assert source_ip(event({"accept": "application/json"}), unreachable) == EDGE


def test_an_event_without_a_peer_is_unknown():
    assert source_ip(APIGatewayProxyEvent({"headers": {}}), lambda: PROOF) == ""
