"""The public REST API: POST /signup and GET /referrers/{code}, both served by the reward function."""

from cdktf import Fn, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.api_gateway_deployment import ApiGatewayDeployment
from cdktf_cdktf_provider_aws.api_gateway_integration import ApiGatewayIntegration
from cdktf_cdktf_provider_aws.api_gateway_method import ApiGatewayMethod
from cdktf_cdktf_provider_aws.api_gateway_method_settings import (
    ApiGatewayMethodSettings,
    ApiGatewayMethodSettingsSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_resource import ApiGatewayResource
from cdktf_cdktf_provider_aws.api_gateway_rest_api import (
    ApiGatewayRestApi,
    ApiGatewayRestApiEndpointConfiguration,
)
from cdktf_cdktf_provider_aws.api_gateway_stage import ApiGatewayStage
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from constructs import Construct

from stacks.config import StackConfig

THROTTLE_RATE_PER_SECOND = 50
THROTTLE_BURST = 100


class ReferralApi(Construct):
    def __init__(self, scope: Construct, id_: str, config: StackConfig, backend: LambdaFunction) -> None:
        super().__init__(scope, id_)
        suffix = config.environment_suffix
        self.api_name = f"referral-api-{suffix}"
        self.rest_api = ApiGatewayRestApi(
            self,
            "rest-api",
            name=self.api_name,
            description="Referral signups and referrer statistics",
            endpoint_configuration=ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
        )
        signup = ApiGatewayResource(
            self, "signup", rest_api_id=self.rest_api.id, parent_id=self.rest_api.root_resource_id, path_part="signup"
        )
        referrers = ApiGatewayResource(
            self,
            "referrers",
            rest_api_id=self.rest_api.id,
            parent_id=self.rest_api.root_resource_id,
            path_part="referrers",
        )
        referrer = ApiGatewayResource(
            self, "referrer", rest_api_id=self.rest_api.id, parent_id=referrers.id, path_part="{code}"
        )
        routes = [
            self._route("post-signup", signup, "POST", "signup", backend),
            self._route("get-referrer", referrer, "GET", "referrers/*", backend),
        ]
        # A deployment is a snapshot: redeploy whenever any route changes, new before old.
        redeploy_on = [signup.id, referrers.id, referrer.id, *(part.id for route in routes for part in route)]
        self.deployment = ApiGatewayDeployment(
            self,
            "deployment",
            rest_api_id=self.rest_api.id,
            triggers={"redeployment": Fn.sha1(Fn.jsonencode(redeploy_on))},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        self.stage = ApiGatewayStage(
            self,
            "stage",
            rest_api_id=self.rest_api.id,
            deployment_id=self.deployment.id,
            stage_name=suffix,
        )
        ApiGatewayMethodSettings(
            self,
            "throttling",
            rest_api_id=self.rest_api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=ApiGatewayMethodSettingsSettings(
                throttling_rate_limit=THROTTLE_RATE_PER_SECOND,
                throttling_burst_limit=THROTTLE_BURST,
                metrics_enabled=True,
            ),
        )

    def _route(
        self, id_: str, resource: ApiGatewayResource, http_method: str, path: str, backend: LambdaFunction
    ) -> tuple[ApiGatewayMethod, ApiGatewayIntegration]:
        method = ApiGatewayMethod(
            self,
            f"{id_}-method",
            rest_api_id=self.rest_api.id,
            resource_id=resource.id,
            http_method=http_method,
            authorization="NONE",
        )
        integration = ApiGatewayIntegration(
            self,
            f"{id_}-integration",
            rest_api_id=self.rest_api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            type="AWS_PROXY",
            integration_http_method="POST",
            uri=backend.invoke_arn,
        )
        # Only this method of this API may invoke the function (the original allowed any route).
        LambdaPermission(
            self,
            f"{id_}-permission",
            statement_id=f"AllowApiGateway-{id_}",
            action="lambda:InvokeFunction",
            function_name=backend.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=f"{self.rest_api.execution_arn}/*/{http_method}/{path}",
        )
        return method, integration
