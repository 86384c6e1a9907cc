"""botfleet's AWS CDK app: one construct per domain (data, api, realtime, trading, provisioning)."""
