"""Powertools glue shared by every REST handler: the resolver, the error mapping, auth and RBAC."""

from botfleet.http.app import Admin, Caller, json_response, make_resolver, page_view

__all__ = ["Admin", "Caller", "json_response", "make_resolver", "page_view"]
