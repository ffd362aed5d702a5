"""Clients for the directory providers (Google Admin SDK, Microsoft Graph, SAP SuccessFactors OData):
leaves that talk to the outside and import no model. `directory/clients.py` builds them from a service."""
