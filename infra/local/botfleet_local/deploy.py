"""Deploy a synthesized CDK stack into moto's CloudFormation, and read back what it created.

moto's CloudFormation deploys most of a serverless template, but it silently skips some
resource types (SecretsManager::Secret, ApiGateway::Stage, every ApiGatewayV2 resource, ...)
and then fails on any Ref/GetAtt that points at a skipped resource. So before deploying we:

* create each `AWS::SecretsManager::Secret` ourselves through moto's Secrets Manager API
  (honouring GenerateSecretString / SecretString) and substitute its ARN for its Ref;
* give every other resource type moto cannot create a local value (an API id for
  ApiGatewayV2::Api, the StageName for a stage, ...) and substitute its Refs/GetAtts, then drop
  it from the template; the gateway emulates the API Gateway ones from the original template;
* drop custom resources (their providers are Node.js Lambdas, which never complete here);
* drop the CDK bootstrap version rule and seed the SSM parameter it reads;
* zip the assets and upload them to the bootstrap bucket, as `cdk deploy` does.

Nothing here knows the product: resources are found by type and by following references.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
import shutil
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .synth import Assembly
from .workers import FunctionSpec

log = logging.getLogger("botfleet_local.deploy")

BOOTSTRAP_QUALIFIER = "hnb659fds"
# Resource types we emulate or replace ourselves (moto's CloudFormation would skip them).
SECRET = "AWS::SecretsManager::Secret"
# Dropped without emulation; a warning names them. Node.js custom resources never finish here.
_CUSTOM_TYPES = ("AWS::CloudFormation::CustomResource",)
# Dropped types whose absence changes nothing a local run can observe (logged at INFO, not WARNING):
# EventInvokeConfig only sets async retries/age, which the local async queue does not emulate anyway; alarms (and
# their topic's policy) watch CloudWatch metrics, which nothing publishes here.
_HARMLESS = {"AWS::CDK::Metadata", "AWS::Lambda::EventInvokeConfig", "AWS::CloudWatch::Alarm", "AWS::SNS::TopicPolicy"}


@dataclass
class Deployment:
    stack_name: str
    account_id: str
    region: str
    template: dict  # as synthesized (the gateway reads API Gateway resources from it)
    physical: dict[str, str]  # logical id -> physical id
    outputs: dict[str, str]
    functions: dict[str, FunctionSpec]  # by physical function name
    local_values: dict[str, dict] = field(default_factory=dict)  # dropped logical id -> {"Ref", attrs}
    dropped: dict[str, str] = field(default_factory=dict)  # logical id -> resource type

    def resources(self, rtype: str) -> Iterator[tuple[str, dict]]:
        for lid, res in self.template.get("Resources", {}).items():
            if res.get("Type") == rtype:
                yield lid, res

    def function_name_for(self, expr: Any) -> str | None:
        """The physical name of the Lambda function an expression (e.g. an integration URI) refers to."""
        for lid in referenced_ids(expr):
            res = self.template["Resources"].get(lid, {})
            if res.get("Type") == "AWS::Lambda::Function":
                return self.physical.get(lid)
            if res.get("Type") in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
                return self.function_name_for(res.get("Properties", {}).get("FunctionName"))
        if isinstance(expr, str):  # a literal ARN or name
            m = re.search(r":function:([^:/]+)", expr)
            name = m.group(1) if m else expr
            return name if name in self.functions else None
        return None

    def resolve(self, expr: Any) -> Any:
        """Resolve the intrinsics this emulator needs (Ref, GetAtt Arn, Join, Sub) after deploy."""
        if isinstance(expr, list):
            return [self.resolve(x) for x in expr]
        if not isinstance(expr, dict):
            return expr
        if len(expr) == 1:
            (k, v), = expr.items()
            if k == "Ref":
                return self._ref(v)
            if k == "Fn::GetAtt":
                lid, attr = (v.split(".", 1) if isinstance(v, str) else v)
                return self._getatt(lid, attr)
            if k == "Fn::Join":
                return v[0].join(str(self.resolve(x)) for x in self.resolve(v[1]))
            if k == "Fn::Sub":
                text, extra = (v, {}) if isinstance(v, str) else (v[0], self.resolve(v[1]))
                return re.sub(r"\$\{([^}!]+)\}", lambda m: str(
                    extra[m.group(1)] if m.group(1) in extra else
                    self._getatt(*m.group(1).split(".", 1)) if "." in m.group(1) else self._ref(m.group(1))),
                    text)
            if k == "Fn::Select":
                return self.resolve(v[1])[int(self.resolve(v[0]))]
        return {k: self.resolve(x) for k, x in expr.items()}

    def _ref(self, name: str) -> str:
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": self.account_id, "AWS::Partition": "aws",
                  "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": self.stack_name}
        if name in pseudo:
            return pseudo[name]
        if name in self.local_values:
            return self.local_values[name]["Ref"]
        return self.physical.get(name, name)

    def _getatt(self, lid: str, attr: str) -> str:
        if lid in self.local_values:
            return self.local_values[lid].get(attr, f"{lid}.{attr}")
        rtype = self.template["Resources"].get(lid, {}).get("Type", "")
        phys = self.physical.get(lid, lid)
        if rtype == "AWS::Lambda::Function" and attr == "Arn":
            return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{phys}"
        if rtype == "AWS::DynamoDB::Table" and attr == "Arn":
            return f"arn:aws:dynamodb:{self.region}:{self.account_id}:table/{phys}"
        return phys


# --- template walking ----------------------------------------------------------------------------

def referenced_ids(expr: Any) -> Iterator[str]:
    """Logical ids an expression refers to through Ref, Fn::GetAtt or Fn::Sub."""
    if isinstance(expr, list):
        for x in expr:
            yield from referenced_ids(x)
    elif isinstance(expr, dict):
        for k, v in expr.items():
            if k == "Ref" and isinstance(v, str) and not v.startswith("AWS::"):
                yield v
            elif k == "Fn::GetAtt":
                yield v.split(".", 1)[0] if isinstance(v, str) else v[0]
            elif k == "Fn::Sub":
                text = v if isinstance(v, str) else v[0]
                for m in re.finditer(r"\$\{([^}!.]+)", text):
                    if not m.group(1).startswith("AWS::"):
                        yield m.group(1)
                if not isinstance(v, str):
                    yield from referenced_ids(v[1])
            else:
                yield from referenced_ids(v)


def _substitute(expr: Any, local: dict[str, dict]) -> Any:
    """Replace Ref/GetAtt/Sub references to dropped resources with their local values."""
    if isinstance(expr, list):
        return [_substitute(x, local) for x in expr]
    if not isinstance(expr, dict):
        return expr
    if len(expr) == 1:
        (k, v), = expr.items()
        if k == "Ref" and v in local:
            return local[v]["Ref"]
        if k == "Fn::GetAtt":
            lid, attr = (v.split(".", 1) if isinstance(v, str) else v)
            if lid in local:
                return local[lid].get(attr, f"{lid}.{attr}")
        if k == "Fn::Sub":
            text, extra = (v, None) if isinstance(v, str) else (v[0], v[1])

            def repl(m: re.Match) -> str:
                lid, _, attr = m.group(1).partition(".")
                if lid in local:
                    return str(local[lid].get(attr, f"{lid}.{attr}") if attr else local[lid]["Ref"])
                return m.group(0)

            text = re.sub(r"\$\{([^}!]+)\}", repl, text)
            return {"Fn::Sub": text if extra is None else [text, _substitute(extra, local)]}
    return {k: _substitute(x, local) for k, x in expr.items()}


def _short_id(*parts: str, n: int = 10) -> str:
    """A stable API-Gateway-like id (10 lowercase alphanumerics)."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % 36] for b in digest[:n])


def _literal(expr: Any, pseudo: dict[str, str]) -> Any:
    """Resolve pseudo parameters in a property that should be a literal (names, stage names)."""
    if isinstance(expr, dict) and "Ref" in expr and expr["Ref"] in pseudo:
        return pseudo[expr["Ref"]]
    if isinstance(expr, dict) and "Fn::Sub" in expr and isinstance(expr["Fn::Sub"], str):
        return re.sub(r"\$\{(AWS::[A-Za-z]+)\}", lambda m: pseudo.get(m.group(1), m.group(0)), expr["Fn::Sub"])
    if isinstance(expr, dict) and "Fn::Join" in expr:
        parts = [_literal(x, pseudo) for x in expr["Fn::Join"][1]]
        if all(isinstance(p, str) for p in parts):
            return expr["Fn::Join"][0].join(parts)
    return expr


def _moto_shims(resources: dict) -> None:
    """Fill in properties that are optional in CloudFormation but that moto 5.2.5 reads unconditionally
    (it raises KeyError and the whole stack fails). Only the copy deployed into moto is changed."""
    for res in resources.values():
        props = res.setdefault("Properties", {})
        if res.get("Type") == "AWS::ApiGateway::Method":
            # MOCK integrations (CORS preflight) have no IntegrationHttpMethod / Uri.
            props.setdefault("AuthorizationType", "NONE")
            integ = props.setdefault("Integration", {"Type": "MOCK"})
            integ.setdefault("IntegrationHttpMethod", "POST")
            integ.setdefault("Type", "MOCK")
            integ.setdefault("Uri", "")


# --- deploy --------------------------------------------------------------------------------------

class Deployer:
    def __init__(self, assembly: Assembly, *, endpoint_url: str, region: str, account_id: str,
                 work_dir: Path):
        import boto3

        self.assembly = assembly
        self.region = region
        self.account_id = account_id
        self.work_dir = work_dir
        self._session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local",
                                              region_name=region)
        self._endpoint = endpoint_url
        self.pseudo = {"AWS::Region": region, "AWS::AccountId": account_id, "AWS::Partition": "aws",
                       "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": assembly.stack_name,
                       "AWS::NoValue": ""}

    def client(self, service: str):
        return self._session.client(service, endpoint_url=self._endpoint)

    # assets ------------------------------------------------------------------------------------
    def asset_dirs(self) -> dict[str, Path]:
        """objectKey -> directory holding the asset's files (what the worker runs)."""
        out: dict[str, Path] = {}
        for h, spec in self.assembly.assets.get("files", {}).items():
            src = self.assembly.outdir / spec["source"]["path"]
            if spec["source"].get("packaging") == "file" and src.suffix == ".zip":
                target = self.work_dir / "assets" / h
                if not target.exists():
                    tmp = target.with_suffix(".tmp")
                    shutil.rmtree(tmp, ignore_errors=True)
                    with zipfile.ZipFile(src) as z:
                        z.extractall(tmp)
                    tmp.rename(target)
                src = target
            for dest in spec.get("destinations", {}).values():
                out[dest["objectKey"]] = src
        return out

    def _zip(self, h: str, spec: dict) -> Path:
        src = self.assembly.outdir / spec["source"]["path"]
        if spec["source"].get("packaging") != "zip" or src.is_file():
            return src
        target = self.work_dir / "assets" / f"{h}.zip"  # the hash is CDK's content hash: a cache key
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".part")
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
                for p in sorted(src.rglob("*")):
                    if p.is_file() and "__pycache__" not in p.parts:
                        z.write(p, p.relative_to(src).as_posix())
            tmp.rename(target)
        return target

    def upload_assets(self) -> None:
        s3 = self.client("s3")
        buckets: set[str] = set()
        jobs = []
        for h, spec in self.assembly.assets.get("files", {}).items():
            for dest in spec.get("destinations", {}).values():
                bucket = _literal({"Fn::Sub": dest["bucketName"]}, self.pseudo)
                if bucket not in buckets:
                    s3.create_bucket(Bucket=bucket)
                    buckets.add(bucket)
                jobs.append((h, spec, bucket, dest["objectKey"]))
        if self.assembly.assets.get("dockerImages"):
            log.warning("docker image assets are not supported locally: %s",
                        list(self.assembly.assets["dockerImages"]))

        def put(job):
            h, spec, bucket, key = job
            s3.put_object(Bucket=bucket, Key=key, Body=self._zip(h, spec).read_bytes())

        with ThreadPoolExecutor(4) as ex:
            list(ex.map(put, jobs))

    # template pre-processing ------------------------------------------------------------------
    def prepare(self) -> tuple[dict, dict[str, dict], dict[str, str]]:
        from moto.cloudformation.parsing import get_model_map

        supported = get_model_map()
        template = copy.deepcopy(self.assembly.template)
        template.pop("Rules", None)  # CheckBootstrapVersion: Fn::Contains is not evaluated by moto
        resources = template.get("Resources", {})
        local: dict[str, dict] = {}
        dropped: dict[str, str] = {}
        region = self.region
        for lid, res in resources.items():
            rtype = res.get("Type", "")
            props = res.get("Properties", {})
            if rtype == SECRET:
                local[lid] = self._create_secret(lid, props)
            elif rtype == "AWS::ApiGatewayV2::Api":
                api_id = _short_id(self.assembly.stack_name, lid)
                scheme = "wss" if props.get("ProtocolType") == "WEBSOCKET" else "https"
                endpoint = f"{scheme}://{api_id}.execute-api.{region}.amazonaws.com"
                local[lid] = {"Ref": api_id, "ApiId": api_id, "ApiEndpoint": endpoint}
            elif rtype in ("AWS::ApiGatewayV2::Stage", "AWS::ApiGateway::Stage"):
                local[lid] = {"Ref": _literal(props.get("StageName", lid), self.pseudo)}
            elif rtype.startswith("AWS::ApiGatewayV2::"):
                rid = _short_id(self.assembly.stack_name, lid, n=7)
                local[lid] = {"Ref": rid, "Id": rid, f"{rtype.rsplit(':', 1)[1]}Id": rid}
            elif rtype.startswith("Custom::") or rtype in _CUSTOM_TYPES or rtype not in supported:
                local[lid] = {"Ref": lid}
                if not rtype.startswith("AWS::ApiGateway::"):
                    level = logging.INFO if rtype in _HARMLESS else logging.WARNING
                    log.log(level, "not emulated locally, dropped: %s (%s)", lid, rtype)
            else:
                continue
            dropped[lid] = rtype
        for lid in dropped:
            resources.pop(lid)
        for res in resources.values():
            deps = res.get("DependsOn")
            if isinstance(deps, str):
                deps = [deps]
            if deps:
                deps = [d for d in deps if d not in dropped]
                if deps:
                    res["DependsOn"] = deps
                else:
                    res.pop("DependsOn")
        template = _substitute(template, local)
        _moto_shims(template.get("Resources", {}))
        for name, out in list(template.get("Outputs", {}).items()):
            if any(r in dropped for r in referenced_ids(out.get("Value"))):
                template["Outputs"].pop(name)  # cannot happen after substitution, but never fail on it
        return template, local, dropped

    def _create_secret(self, lid: str, props: dict) -> dict:
        sm = self.client("secretsmanager")
        name = _literal(props.get("Name"), self.pseudo) if props.get("Name") else None
        if not isinstance(name, str):
            name = f"{lid}-{_short_id(self.assembly.stack_name, lid, n=6)}"
        if "SecretString" in props and isinstance(props["SecretString"], str):
            value = props["SecretString"]
        else:
            gen = props.get("GenerateSecretString", {})
            args = {k: gen[k] for k in ("PasswordLength", "ExcludeCharacters", "ExcludeNumbers",
                                        "ExcludePunctuation", "ExcludeUppercase", "ExcludeLowercase",
                                        "IncludeSpace", "RequireEachIncludedType") if k in gen}
            password = sm.get_random_password(**args)["RandomPassword"]
            if gen.get("SecretStringTemplate") and gen.get("GenerateStringKey"):
                doc = json.loads(gen["SecretStringTemplate"])
                doc[gen["GenerateStringKey"]] = password
                value = json.dumps(doc)
            else:
                value = password
        arn = sm.create_secret(Name=name, SecretString=value,
                               Description=str(props.get("Description", "")))["ARN"]
        return {"Ref": arn, "Id": arn}

    # deploy ------------------------------------------------------------------------------------
    def deploy(self) -> Deployment:
        self.client("ssm").put_parameter(Name=f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version",
                                         Value="30", Type="String", Overwrite=True)
        with ThreadPoolExecutor(1) as ex:
            uploading = ex.submit(self.upload_assets)
            template, local, dropped = self.prepare()
            uploading.result()
        cfn = self.client("cloudformation")
        body = json.dumps(template)
        params = [{"ParameterKey": k, "ParameterValue": str(v.get("Default", ""))}
                  for k, v in template.get("Parameters", {}).items() if "Default" in v]
        try:
            cfn.create_stack(StackName=self.assembly.stack_name, TemplateBody=body, Parameters=params,
                             Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"])
        except Exception as e:  # moto answers 500 with an HTML page; its traceback went to stderr
            raise RuntimeError(f"moto's CloudFormation could not create the stack ({e}); "
                               "see the moto traceback above") from None
        stack = cfn.describe_stacks(StackName=self.assembly.stack_name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise RuntimeError(f"stack {self.assembly.stack_name}: {stack['StackStatus']} "
                               f"{stack.get('StackStatusReason', '')}")
        physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
                    for r in cfn.describe_stack_resources(StackName=self.assembly.stack_name)["StackResources"]}
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        dep = Deployment(stack_name=self.assembly.stack_name, account_id=self.account_id, region=self.region,
                         template=self.assembly.template, physical=physical, outputs=outputs,
                         functions={}, local_values=local, dropped=dropped)
        dep.functions = self._functions(dep)
        return dep

    def _functions(self, dep: Deployment) -> dict[str, FunctionSpec]:
        lam = self.client("lambda")
        assets = self.asset_dirs()
        tpl = dep.template["Resources"]
        out: dict[str, FunctionSpec] = {}
        for lid, res in dep.resources("AWS::Lambda::Function"):
            name = dep.physical.get(lid)
            if not name:
                continue
            props = res.get("Properties", {})
            cfg = lam.get_function_configuration(FunctionName=name)
            code = props.get("Code", {})
            code_dir = assets.get(dep.resolve(code.get("S3Key")))
            if code_dir is None and isinstance(code.get("ZipFile"), str):
                code_dir = self.work_dir / "inline" / name
                code_dir.mkdir(parents=True, exist_ok=True)
                (code_dir / "index.py").write_text(code["ZipFile"])
            if code_dir is None:
                log.warning("function %s: code not found in the assets; it cannot run locally", lid)
                code_dir = self.work_dir
            layer_dirs: list[Path] = []
            for layer in props.get("Layers", []):
                ids = list(referenced_ids(layer))
                lres = tpl.get(ids[0], {}) if ids else {}
                key = dep.resolve(lres.get("Properties", {}).get("Content", {}).get("S3Key"))
                if key in assets:
                    layer_dirs.append(assets[key])
                else:
                    log.warning("function %s: layer %s is not a local asset; skipped", lid, layer)
            reserved = props.get("ReservedConcurrentExecutions")
            out[name] = FunctionSpec(
                name=name, arn=cfg["FunctionArn"], handler=cfg.get("Handler", "handler.handler"),
                runtime=cfg.get("Runtime", "python3.11"), code_dir=Path(code_dir), layer_dirs=layer_dirs,
                env=dict(cfg.get("Environment", {}).get("Variables", {})),
                timeout=float(cfg.get("Timeout", 3)), memory=int(cfg.get("MemorySize", 128)),
                max_concurrency=int(reserved) if isinstance(reserved, int) and reserved > 0 else 0,
                logical_id=lid,
            )
        return out
