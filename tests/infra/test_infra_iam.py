"""Least privilege: who may touch the table, the engine, the WebSocket connections."""

import json

TABLE_WRITE_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}


def _statements_on(light, function_name, needle):
    return [s for s in light.role_statements(function_name) if needle in json.dumps(s["Resource"])]


def test_tick_invokes_engine_only_and_touches_only_the_fleet_tick_log(light):
    ids = light.function_logical_ids()
    assert {a for a in light.role_actions("tick") if a.startswith("dynamodb:")} == {"dynamodb:UpdateItem"}
    (table_id,) = light.resources_of_type("AWS::DynamoDB::Table")
    (statement,) = _statements_on(light, "tick", table_id)
    assert statement["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}  # the table, not its indexes
    assert statement["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["FLEET"]}}
    invoke = [s for s in light.role_statements("tick") if s["Action"] == "lambda:InvokeFunction"]
    assert len(invoke) == 1
    assert invoke[0]["Resource"] == [
        {"Fn::GetAtt": [ids["engine"], "Arn"]},
        {"Fn::Join": ["", [{"Fn::GetAtt": [ids["engine"], "Arn"]}, ":*"]]},
    ]


def test_only_tick_may_invoke_functions(light, function_name):
    actions = light.role_actions(function_name)
    if function_name == "tick":
        assert "lambda:InvokeFunction" in actions
    else:
        assert not any(a.startswith("lambda:") for a in actions)


def test_only_ws_broadcaster_admin_and_auth_manage_connections(light, function_name):
    # ws answers, broadcaster pushes, admin closes a blocked or logged-out user's sockets, auth the caller's own
    # at logout.
    may_manage = "execute-api:ManageConnections" in light.role_actions(function_name)
    assert may_manage == (function_name in {"ws", "broadcaster", "admin", "auth"})
    if may_manage:
        (statement,) = [
            s for s in light.role_statements(function_name) if s["Action"] == "execute-api:ManageConnections"
        ]
        arn = "".join(p if isinstance(p, str) else json.dumps(p) for p in statement["Resource"]["Fn::Join"][1])
        assert arn.endswith("/prod/*/@connections/*")


def test_ops_reads_the_table_and_writes_only_the_kept_fleet_metrics(light):
    # health (DescribeTable) and metrics (queries) read; the one write is PutItem in the METRICS partition.
    from botfleet.adapters.dynamo.counters import METRICS_PARTITION
    from botfleet_infra.data import METRICS_PARTITION as GRANTED

    (table_id,) = light.resources_of_type("AWS::DynamoDB::Table")
    statements = _statements_on(light, "ops", table_id)
    actions = {action for statement in statements
               for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])}
    assert {"dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"} <= actions
    (put,) = [s for s in statements if "PutItem" in str(s["Action"])]
    assert put["Action"] == "dynamodb:PutItem"
    assert put["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [GRANTED]}}
    assert GRANTED == METRICS_PARTITION
    assert not {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} & light.role_actions("ops")


def test_broadcaster_reads_and_deletes_but_never_writes_items(light):
    actions = light.role_actions("broadcaster")
    assert {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:DeleteItem"} <= actions
    assert not {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"} & actions


def test_table_writers(light, function_name):
    writes = "dynamodb:PutItem" in light.role_actions(function_name)
    assert writes == (function_name in {"auth", "bots", "ws", "engine", "provision", "admin", "keys", "training",
                                        "trainer", "quarantine", "quarantiner", "assistant", "ops"})


def test_jwt_secret_readers(light, function_name):
    secret_id = light.jwt_secret_id()
    reads = bool(_statements_on(light, function_name, secret_id))
    assert reads == (function_name in {"auth", "bots", "ops", "ws", "provision", "admin", "keys", "training",
                                       "quarantine", "assistant"})


def test_only_keys_engine_and_assistant_open_secrets_and_only_per_user_and_provider(light, function_name):
    statements = [s for s in light.role_statements(function_name)
                  if any(str(a).startswith("kms:") for a in _as_list(s["Action"]))]
    if function_name not in ("keys", "engine", "assistant"):
        assert statements == []
        return
    (statement,) = statements
    actions = set(_as_list(statement["Action"]))
    # keys seals (GenerateDataKey) and opens; the engine only opens, to sign live orders
    assert actions == ({"kms:Decrypt", "kms:GenerateDataKey"} if function_name == "keys" else {"kms:Decrypt"})
    conditions = statement["Condition"]
    assert conditions["ForAllValues:StringEquals"]["kms:EncryptionContextKeys"] == ["user_id", "provider"]
    assert conditions["Null"] == {"kms:EncryptionContext:user_id": "false", "kms:EncryptionContext:provider": "false"}
    if function_name == "engine":  # exchange keys only: never the user's OpenAI key
        assert conditions["StringEquals"]["kms:EncryptionContext:provider"] == ["luno", "binance", "kucoin", "valr",
                                                                                  "ovex"]
    if function_name == "assistant":  # the user's OpenAI key only: never an exchange's
        assert conditions["StringEquals"]["kms:EncryptionContext:provider"] == ["openai"]


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_no_wildcard_action_anywhere_and_star_resource_only_where_unavoidable(light):
    # X-Ray, dynamodb:ListStreams and Step Functions' CloudWatch Logs delivery (AWS documents these actions as
    # resource "*" only) support no resource-level permissions; nothing else may use "*".
    allowed_on_star = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
                       "xray:GetSamplingTargets", "dynamodb:ListStreams", "logs:CreateLogDelivery",
                       "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
                       "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
                       "logs:DescribeLogGroups"}
    documents = [p["Properties"]["PolicyDocument"] for p in light.resources_of_type("AWS::IAM::Policy").values()]
    for role in light.resources_of_type("AWS::IAM::Role").values():
        documents += [p["PolicyDocument"] for p in role["Properties"].get("Policies", [])]
    for document in documents:
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any("*" in action for action in actions), statement
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if "*" in resources:
                assert set(actions) <= allowed_on_star, statement


def test_function_roles_trust_only_lambda(light, function_name):
    role = light.resources[light.role_logical_id(function_name)]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]
