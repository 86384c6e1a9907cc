"""cdk-nag v3 acknowledgments: every one names its rule, its reason and, for multi-finding rules, the finding.

cdk-nag 3 is a CDK policy-validation plugin (`Validations.of(app).add_plugins(AwsSolutionsChecks(app))`);
suppressions are `Validations.of(construct).acknowledge(...)`, matched exactly on `Rule` or
`Rule[finding]` (no wildcards, no regex), and inherited by every construct below the acknowledged one.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from constructs import IConstruct

PACK = "AwsSolutions"


def acknowledge(construct: IConstruct, rule: str, reason: str, *findings: str) -> None:
    """Acknowledge `rule` on `construct` and its children: whole-rule, or only the listed findings."""
    rule_ids = [f"{PACK}-{rule}[{finding}]" for finding in findings] or [f"{PACK}-{rule}"]
    for rule_id in rule_ids:
        Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def _cfn_logical_id(construct: IConstruct) -> str:
    element = construct if isinstance(construct, CfnElement) else construct.node.default_child
    if not isinstance(element, CfnElement):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource")
    return Stack.of(element).get_logical_id(element)


def logical_id(construct: IConstruct) -> str:
    return _cfn_logical_id(construct)


def getatt_arn_finding(construct: IConstruct, suffix: str = "") -> str:
    """The IAM5 finding cdk-nag reports for a resource ARN built on `Fn::GetAtt [<id>, Arn]` + `suffix`."""
    return f"Resource::<{_cfn_logical_id(construct)}.Arn>{suffix}"


def ref_finding(construct: IConstruct, prefix: str = "", suffix: str = "") -> str:
    """The IAM5 finding for a resource ARN built around `Ref <id>` (e.g. an API id inside an ARN)."""
    return f"Resource::{prefix}<{_cfn_logical_id(construct)}>{suffix}"
