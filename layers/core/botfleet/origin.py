"""What our CloudFront distribution adds to each request it forwards to the REST API, so the API can tell the
viewer's address from the edge server's (http.app.source_ip). One definition for both sides: the CDK app builds
the distribution from these names (infra/botfleet_infra/catalogue.py); stdlib only, so a synth imports nothing else.
"""

#: The viewer's address as CloudFront saw it, set by the distribution's viewer-request function (replacing any
#: value a viewer sent under this name).
VIEWER_ADDRESS_HEADER = "x-botfleet-viewer-address"
#: A secret the distribution adds as an origin custom header (replacing a viewer's copy): proof that the request
#: came through it, without which the viewer address is not believed.
ORIGIN_PROOF_HEADER = "x-botfleet-origin-proof"
#: The variable that gives a function the secret's ARN (settings.Settings.origin_proof_secret_arn).
ORIGIN_PROOF_ENV = "ORIGIN_PROOF_SECRET_ARN"
