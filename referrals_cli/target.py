"""The deployment a command works on, and how to reach it; each part is made once, when first needed."""

from dataclasses import dataclass, field
from pathlib import Path

from referrals_cli.aws import Aws, connect
from referrals_cli.deployed_code import DeployedCode, deployed_code
from referrals_cli.outputs import Outputs, load_outputs


@dataclass
class Target:
    stack_dir: Path | None
    outputs_file: Path | None
    region: str | None
    profile: str | None
    code_override: DeployedCode | None = None  # stand-ins for Lambda and the API (see deployed_code.py)
    _outputs: Outputs | None = field(default=None, init=False)
    _aws: Aws | None = field(default=None, init=False)

    def outputs(self) -> Outputs:
        if self._outputs is None:
            self._outputs = load_outputs(self.stack_dir, self.outputs_file)
        return self._outputs

    def aws(self) -> Aws:
        if self._aws is None:
            self._aws = connect(region=self.region, profile=self.profile, deployment_region=self.outputs().region)
        return self._aws

    def code(self) -> DeployedCode:
        return self.code_override or deployed_code(self.aws().client("lambda"))
