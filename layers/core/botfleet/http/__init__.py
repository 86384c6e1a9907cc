"""Powertools glue shared by every REST handler: the resolver, the error mapping, auth and RBAC.

Tracing comes from Lambda's active tracing (set in CDK), not the Powertools Tracer: importing aws-xray-sdk
builds a botocore client at import time, ~150 ms of every cold start (measured by `make bench`).
"""

from botfleet.http.app import Admin, Caller, json_response, make_resolver, page_view, request_id, source_ip

__all__ = ["Admin", "Caller", "json_response", "make_resolver", "page_view", "request_id", "source_ip"]
