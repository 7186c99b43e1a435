"""Access for people: the roles named in REPORT_READER_ROLE_ARNS and OPERATOR_ROLE_ARNS.

Each list gets a managed policy (the identity side, from stacks/policies.py) attached to each
role; the key, bucket and queue policies name the same roles (the resource side). A role must be
in the deployment account: Terraform stops at plan time, with a message, if one is not.
"""

from collections.abc import Sequence

from cdktf import Op, Precondition, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from stacks.config import role_arn_parts
from stacks.policies import Account
from stacks.policy_documents import policy_document


class RoleAccess(Construct):
    """One managed policy for a group of people's roles, attached to each of them."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        account: Account,
        name: str,
        description: str,
        statements: list[dict],
        role_arns: Sequence[str],
    ) -> None:
        super().__init__(scope, id_)
        self.policy = IamPolicy(self, "policy", name=name, description=description, policy=policy_document(statements))
        for index, role_arn in enumerate(role_arns):
            role_account, role_name = role_arn_parts(role_arn)
            IamRolePolicyAttachment(
                self,
                f"attachment-{index}",
                role=role_name,
                policy_arn=self.policy.arn,
                # A role of another account with the same name must not get this account's access.
                lifecycle=TerraformResourceLifecycle(
                    precondition=[
                        Precondition(
                            condition=Op.eq(account.id, role_account),
                            error_message=f"{role_arn} is not in the account being deployed to; "
                            "list only roles of this account",
                        )
                    ]
                ),
            )
