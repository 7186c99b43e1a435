"""The `referrals` operator CLI (docs/cli.md): a client of a deployed stack through its Terraform
outputs and boto3. It imports nothing of stacks/, lambdas/ or tools/."""
