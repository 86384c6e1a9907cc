"""Everything that talks to the world: DynamoDB, Secrets Manager, Lambda, the WebSocket API."""
