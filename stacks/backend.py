"""Where a stack keeps its Terraform state (the S3 bucket of STATE_BUCKET, else a local file), and
the Terraform version that state needs."""

from cdktf import LocalBackend, S3Backend, TerraformStack

from stacks.config import StackConfig

# S3-native state locking (use_lockfile) arrived in Terraform 1.10; older CLIs stop with this.
REQUIRED_TERRAFORM = ">= 1.10"


def use_state_backend(stack: TerraformStack, config: StackConfig, state_key: str) -> None:
    """S3 at `state_key` when STATE_BUCKET is set; otherwise a file named after the key."""
    stack.add_override("terraform.required_version", REQUIRED_TERRAFORM)
    if config.state_bucket is None:
        # Relative to cdktf.out/stacks/<stack>/: the state lives in the project root, outside
        # the synth output (which each synth rewrites), and no absolute path enters the JSON.
        LocalBackend(stack, path=f"../../../terraform.{state_key.replace('/', '.')}")
        return
    S3Backend(stack, bucket=config.state_bucket, key=state_key, region=config.state_bucket_region, encrypt=True)
    # S3-native state locking (Terraform >= 1.10); cdktf 0.21's S3Backend has no field for it.
    stack.add_override("terraform.backend.s3.use_lockfile", True)
