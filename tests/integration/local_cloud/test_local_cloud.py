"""The local cloud against a small fixture CDK app: real HTTP (httpx) and WebSocket clients.

One cloud per module (time_scale=60, schedules only when fired), started in ~3 s with a warm
synth cache.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import websockets
from boto3.dynamodb.conditions import Key

pytestmark = pytest.mark.timeout(60)


def _wait(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def _ws_url(cloud, query=""):
    return cloud.url.replace("http://", "ws://") + "/api/ws" + query


# --- REST ----------------------------------------------------------------------------------------

def test_rest_event_shape(cloud):
    r = httpx.get(cloud.url + "/api/items/42?x=1&x=2&y=z", headers={"X-Custom": "v"})
    assert r.status_code == 200
    assert r.headers["x-fixture"] == "yes"
    assert r.headers.get_list("set-cookie") == ["a=1", "b=2"]
    ev = r.json()["event"]
    assert ev["resource"] == "/api/items/{id}"
    assert ev["path"] == "/api/items/42"
    assert ev["httpMethod"] == "GET"
    assert ev["pathParameters"] == {"id": "42"}
    assert ev["queryStringParameters"] == {"x": "2", "y": "z"}
    assert ev["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": ["z"]}
    assert ev["headers"]["X-Custom"] == "v"
    assert ev["multiValueHeaders"]["X-Custom"] == ["v"]
    assert ev["stageVariables"] is None
    assert ev["body"] is None and ev["isBase64Encoded"] is False
    ctx = ev["requestContext"]
    assert ctx["resourcePath"] == "/api/items/{id}"
    assert ctx["httpMethod"] == "GET"
    assert ctx["stage"] == "prod"
    assert ctx["path"] == "/prod/api/items/42"
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["accountId"] == "123456789012"
    assert ctx["resourceId"] and ctx["apiId"] and ctx["requestId"] and ctx["domainName"]
    assert abs(ctx["requestTimeEpoch"] / 1000 - time.time()) < 30
    # The Lambda context: the deadline comes from the function's Timeout (10 s).
    assert 5000 < r.json()["remaining_ms"] <= 10000


def test_rest_body_and_method(cloud):
    r = httpx.put(cloud.url + "/api/items/7", content=json.dumps({"a": 1}),
                  headers={"Content-Type": "application/json"})
    ev = r.json()["event"]
    assert ev["httpMethod"] == "PUT" and json.loads(ev["body"]) == {"a": 1}
    assert ev["headers"]["Content-Type"] == "application/json"


def test_rest_routing_precedence(cloud):
    # exact resource beats {param}
    assert httpx.get(cloud.url + "/api/items").json()["event"]["resource"] == "/api/items"
    # {proxy+} is greedy and takes the rest of the path
    ev = httpx.delete(cloud.url + "/api/files/a/b/c.txt").json()["event"]
    assert ev["resource"] == "/api/files/{proxy+}"
    assert ev["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert ev["httpMethod"] == "DELETE"  # ANY


def test_unknown_route_is_json_404(cloud):
    for path in ("/api/nothing-here", "/api/items/1/deeper"):
        r = httpx.get(cloud.url + path)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"
    # a method the resource does not have
    r = httpx.post(cloud.url + "/api/items/1")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_function_error_is_502(cloud):
    r = httpx.get(cloud.url + "/api/crash")
    assert r.status_code == 502
    assert r.json() == {"message": "Internal server error"}


def test_environment_is_rewritten_for_local(cloud):
    env = httpx.get(cloud.url + "/api/items/1").json()["env"]
    assert env["WS_URL"] == _ws_url(cloud)
    assert env["AWS_ENDPOINT_URL"] == cloud.moto.url
    assert env["BOTFLEET_TIME_SCALE"] == "60"
    assert env["TABLE_NAME"] == cloud.deployment.outputs["TableName"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"].startswith("Botfleet-ApiFunction")


def test_cold_then_warm(cloud):
    fn = cloud.function_name("ApiFunction")
    cloud.recycle(fn)
    t0 = time.perf_counter()
    cold = httpx.get(cloud.url + "/api/items/1")
    cold_ms = (time.perf_counter() - t0) * 1000
    with httpx.Client() as client:
        client.get(cloud.url + "/api/items/1")
        t0 = time.perf_counter()
        warm = client.get(cloud.url + "/api/items/1")
        warm_ms = (time.perf_counter() - t0) * 1000
    assert cold.json()["invocations"] == 1  # a fresh process: module state starts over
    assert warm.json()["invocations"] == 3 and warm.json()["pid"] == cold.json()["pid"]
    assert warm_ms < 50, warm_ms
    assert cold_ms > warm_ms
    print(f"cold {cold_ms:.0f} ms, warm {warm_ms:.1f} ms")


def test_concurrent_requests_start_more_workers(cloud):
    fn = cloud.function_name("WorkerFunction")
    lam_payload = json.dumps({"sleep": 0.5, "mark": "conc"})
    import concurrent.futures as cf

    with cf.ThreadPoolExecutor(3) as ex:
        results = list(ex.map(lambda _: cloud.invoke(fn, json.loads(lam_payload)), range(3)))
    assert all(not r.error for r in results)
    assert cloud.pools[fn].size >= 2


# --- Lambda API through moto --------------------------------------------------------------------

def test_async_invoke_does_not_block(cloud, table):
    mark = f"async-{time.time()}"
    t0 = time.monotonic()
    r = httpx.post(cloud.url + "/api/async", json={"mark": mark})
    elapsed = time.monotonic() - t0
    assert r.status_code == 202
    assert r.json()["invoke_seconds"] < 0.5  # the worker sleeps 1.5 s
    assert elapsed < 1.0
    item = _wait(lambda: table.get_item(Key={"pk": "work", "sk": mark}).get("Item"), timeout=10)
    assert json.loads(item["event"])["mark"] == mark


def test_sync_invoke_timeout(cloud, aws):
    fn = cloud.function_name("WorkerFunction")  # Timeout 3 s
    t0 = time.monotonic()
    r = aws("lambda").invoke(FunctionName=fn, Payload=json.dumps({"sleep": 5}))
    assert 2.9 < time.monotonic() - t0 < 5
    assert r["FunctionError"] == "Unhandled"
    body = json.loads(r["Payload"].read())
    assert body["errorType"] == "Sandbox.Timedout"
    # the pool replaced the killed worker
    r = aws("lambda").invoke(FunctionName=fn, Payload=json.dumps({"mark": "after-timeout"}))
    assert "FunctionError" not in r and json.loads(r["Payload"].read())["done"] is True


# --- Step Functions -----------------------------------------------------------------------------

def test_time_scale_shortens_wait(cloud, aws):
    t0 = time.monotonic()
    arn = httpx.post(cloud.url + "/api/sfn", json={"wait": 60, "mark": "sfn"}).json()["executionArn"]
    sfn = aws("stepfunctions")
    desc = _wait(lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
                 timeout=10)
    elapsed = time.monotonic() - t0
    assert desc["status"] == "SUCCEEDED", desc
    assert json.loads(desc["output"]) == {"done": True, "mark": "sfn"}
    assert elapsed < 2.0, elapsed  # 60 s at time_scale 60 (plus the task's invocation)


# --- schedules and control plane ----------------------------------------------------------------

def test_fire_schedule(cloud, table):
    r = httpx.post(cloud.url + "/_local/schedules/tick/fire")
    assert r.status_code == 200
    body = r.json()
    assert body["schedule"] == "tick" and body["results"][0]["result"] == {"ok": True}
    ticks = table.query(KeyConditionExpression=Key("pk").eq("tick"))["Items"]
    event = json.loads(ticks[-1]["event"])
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == [f"arn:aws:events:us-east-1:123456789012:rule/{body['rule']}"]
    assert event["detail"] == {} and event["account"] == "123456789012"
    # the physical rule name works too; an unknown name is a JSON 404
    assert httpx.post(cloud.url + f"/_local/schedules/{body['rule']}/fire").status_code == 200
    r = httpx.post(cloud.url + "/_local/schedules/nope/fire")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_market_move_control_plane(cloud):
    r = httpx.post(cloud.url + "/_local/market/luno/BTC-ZAR", json={"move_pct": -25})
    assert r.status_code == 200
    assert r.json() == {"ok": True, "exchange": "luno", "symbol": "BTC/ZAR", "move_pct": -25}


def test_startup_provisioned_admin(cloud, table):
    item = table.get_item(Key={"pk": "user", "sk": "admin@fixture.local"}).get("Item")
    assert item and item["action"] == "ensure_admin"


def test_secret_created(cloud, aws):
    arn = httpx.get(cloud.url + "/api/items/1").json()["event"] and cloud.pools[
        cloud.function_name("ApiFunction")].spec.env["JWT_SECRET_ARN"]
    value = aws("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    assert len(value) == 64 and value.isalnum()


# --- WebSocket ----------------------------------------------------------------------------------

def test_ws_connect_refused_without_token(cloud):
    async def go():
        with pytest.raises(websockets.exceptions.InvalidStatus) as e:
            async with websockets.connect(_ws_url(cloud)):
                pass
        assert e.value.response.status_code == 401

    asyncio.run(go())


def test_ws_echo_routes_and_gone(cloud):
    async def go():
        async with websockets.connect(_ws_url(cloud, "?token=ok")) as ws:
            await ws.send(json.dumps({"hello": 1}))
            echo = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert echo["type"] == "echo" and echo["route"] == "$default" and echo["body"] == {"hello": 1}
            await ws.send(json.dumps({"action": "shout", "x": 2}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["route"] == "shout"
            await ws.send("not json")
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["body"] == {"raw": "not json"}
            await ws.send(json.dumps({"action": "info"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["sourceIp"] == "127.0.0.1"
            first_id = echo["connectionId"]
        async with websockets.connect(_ws_url(cloud, "?token=ok")) as ws2:
            await ws2.send(json.dumps({"action": "gone", "id": first_id}))
            assert json.loads(await asyncio.wait_for(ws2.recv(), 5))["type"] == "gone_ok"
        return first_id

    first_id = asyncio.run(go())
    # $disconnect ran (asynchronously) for the closed connection
    r = httpx.post(cloud.url.replace("http://", "http://") + f"/_aws/ws/@connections/{first_id}", content=b"x")
    assert r.status_code == 410 and r.headers["x-amzn-errortype"] == "GoneException"


def test_connections_api_delete_closes(cloud):
    async def go():
        async with websockets.connect(_ws_url(cloud, "?token=ok")) as ws:
            await ws.send("{}")
            cid = json.loads(await asyncio.wait_for(ws.recv(), 5))["connectionId"]
            async with httpx.AsyncClient() as client:
                info = await client.get(cloud.url + f"/_aws/ws/@connections/{cid}")
                assert info.status_code == 200 and info.json()["identity"]["sourceIp"] == "127.0.0.1"
                assert (await client.delete(cloud.url + f"/_aws/ws/@connections/{cid}")).status_code == 204
            with pytest.raises(websockets.exceptions.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)

    asyncio.run(go())


def test_stream_delivery_in_order_and_fast(cloud):
    async def go():
        async with websockets.connect(_ws_url(cloud, "?token=ok")) as ws:
            # warm the stream consumer (its cold start is not what this test measures)
            await ws.send(json.dumps({"action": "store", "sk": "warm"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["sk"] == "warm"
            latencies, seen = [], []
            for i in range(5):
                sent = time.time()
                await ws.send(json.dumps({"action": "store", "sk": f"m{i}"}))
                msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
                latencies.append(msg["at"] - sent)
                seen.append(msg)
            return latencies, seen

    latencies, seen = asyncio.run(go())
    assert [m["sk"] for m in seen] == [f"m{i}" for i in range(5)]
    assert all(m["eventName"] == "INSERT" and m["eventSource"] == "aws:dynamodb" and m["has_arn"]
               and m["view"] == "NEW_AND_OLD_IMAGES" for m in seen)
    seqs = [int(m["seq"]) for m in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    # message -> ws Lambda -> PutItem -> stream -> consumer Lambda -> @connections, all warm
    print("stream round trips (ms):", [round(x * 1000) for x in latencies])
    assert sorted(latencies)[2] < 0.1


def test_stream_batches(cloud, table):
    async def go():
        async with websockets.connect(_ws_url(cloud, "?token=ok")) as ws:
            await ws.send("{}")
            cid = json.loads(await asyncio.wait_for(ws.recv(), 5))["connectionId"]
            with table.batch_writer() as batch:
                for i in range(25):
                    batch.put_item(Item={"pk": "msg", "sk": f"b{i:02d}", "connection_id": cid})
            got = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(25)]
            return got

    got = asyncio.run(go())
    assert [m["sk"] for m in got] == [f"b{i:02d}" for i in range(25)]
    assert max(m["batch"] for m in got) <= 10  # BatchSize
    assert max(m["batch"] for m in got) > 1  # records that arrive together are batched


def test_concurrent_updates_of_one_item_apply_one_at_a_time_with_their_stream_records_in_order(cloud, table):
    """Eight writers counting one item up at once (training chunks marking themselves done): DynamoDB applies
    them one after another, so no count is lost and the stream's new images count up one by one (moto alone
    changed the item in place from several threads: a run's progress came out 2/3, 3/3, 2/3)."""
    from concurrent.futures import ThreadPoolExecutor

    async def go():
        async with websockets.connect(_ws_url(cloud, "?token=ok")) as ws:
            await ws.send("{}")
            cid = json.loads(await asyncio.wait_for(ws.recv(), 5))["connectionId"]
            table.put_item(Item={"pk": "msg", "sk": "counter", "connection_id": cid, "n": 0})

            def count_up(_):
                for _ in range(10):
                    table.update_item(Key={"pk": "msg", "sk": "counter"}, UpdateExpression="ADD n :one",
                                      ExpressionAttributeValues={":one": 1})

            with ThreadPoolExecutor(8) as writers:
                await asyncio.to_thread(lambda: list(writers.map(count_up, range(8))))
            return [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(81)]

    got = asyncio.run(go())
    assert [int(m["n"]) for m in got] == list(range(81))
    assert table.get_item(Key={"pk": "msg", "sk": "counter"})["Item"]["n"] == 80


def test_put_events_not_broken_by_schedule_rule(cloud, aws, table):
    before = len(table.query(KeyConditionExpression=Key("pk").eq("tick"))["Items"])
    r = aws("events").put_events(Entries=[{"Source": "test", "DetailType": "x", "Detail": "{}"}])
    assert r["FailedEntryCount"] == 0
    time.sleep(0.3)
    # a schedule rule never matches put_events (moto would match it and raise NotImplementedError)
    assert len(table.query(KeyConditionExpression=Key("pk").eq("tick"))["Items"]) == before
