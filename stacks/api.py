"""The REST API: the public routes (POST /signup, GET /referrers/{code}) on the reward function and
the admin routes (POST /referrals/{userId}/qualify|approve|reverse, GET /referrals) on the admin function.

The public routes require an API key (usage plan with throttle and quota); the admin routes are
AWS_IAM authorized (SigV4) and take no key, so the public key reaches none of them. Bodies with a
fixed shape (signup, reverse) are checked against a JSON schema before the function runs; the
stage writes JSON access logs and X-Ray traces.
"""

import json

from cdktf import Fn, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.api_gateway_api_key import ApiGatewayApiKey
from cdktf_cdktf_provider_aws.api_gateway_deployment import ApiGatewayDeployment
from cdktf_cdktf_provider_aws.api_gateway_gateway_response import ApiGatewayGatewayResponse
from cdktf_cdktf_provider_aws.api_gateway_integration import ApiGatewayIntegration
from cdktf_cdktf_provider_aws.api_gateway_method import ApiGatewayMethod
from cdktf_cdktf_provider_aws.api_gateway_method_settings import (
    ApiGatewayMethodSettings,
    ApiGatewayMethodSettingsSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_model import ApiGatewayModel
from cdktf_cdktf_provider_aws.api_gateway_request_validator import ApiGatewayRequestValidator
from cdktf_cdktf_provider_aws.api_gateway_resource import ApiGatewayResource
from cdktf_cdktf_provider_aws.api_gateway_rest_api import (
    ApiGatewayRestApi,
    ApiGatewayRestApiEndpointConfiguration,
)
from cdktf_cdktf_provider_aws.api_gateway_stage import ApiGatewayStage, ApiGatewayStageAccessLogSettings
from cdktf_cdktf_provider_aws.api_gateway_usage_plan import (
    ApiGatewayUsagePlan,
    ApiGatewayUsagePlanApiStages,
    ApiGatewayUsagePlanQuotaSettings,
    ApiGatewayUsagePlanThrottleSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_usage_plan_key import ApiGatewayUsagePlanKey
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from constructs import Construct

from stacks.api_schema import REVERSE_SCHEMA, SIGNUP_SCHEMA
from stacks.config import StackConfig
from stacks.policies import ADMIN_ACTIONS, admin_route_arns, api_invoke_source_arn

# One JSON object per request; no request or response bodies (they hold e-mail addresses).
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTimeEpoch",
        "ip": "$context.identity.sourceIp",
        "apiKeyId": "$context.identity.apiKeyId",
        "method": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "latencyMs": "$context.responseLatency",
        "integrationStatus": "$context.integration.status",
        "error": "$context.error.message",
        "validationError": "$context.error.validationErrorString",
    }
)


ApiPart = ApiGatewayResource | ApiGatewayModel | ApiGatewayGatewayResponse  # what a redeployment hashes
# Public routes: callers are identified by their API key (usage plan).
_KEYED = {"authorization": "NONE", "api_key_required": True}
# Admin routes: SigV4-signed callers allowed by IAM (the admin callers' policy); no key, no usage plan.
_SIGNED = {"authorization": "AWS_IAM", "api_key_required": False}


def access_log_group_name(api_name: str) -> str:
    return f"/aws/apigateway/{api_name}/access"


class ReferralApi(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        config: StackConfig,
        *,
        backend: LambdaFunction,
        admin_backend: LambdaFunction,
        kms_key_arn: str,
    ) -> None:
        super().__init__(scope, id_)
        suffix = config.environment_suffix
        self.api_name = f"referral-api-{suffix}"
        self.rest_api = ApiGatewayRestApi(
            self,
            "rest-api",
            name=self.api_name,
            description="Referral signups, referrer statistics and the reward admin routes",
            endpoint_configuration=ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        api_id = self.rest_api.id
        signup = ApiGatewayResource(
            self, "signup", rest_api_id=api_id, parent_id=self.rest_api.root_resource_id, path_part="signup"
        )
        referrers = ApiGatewayResource(
            self, "referrers", rest_api_id=api_id, parent_id=self.rest_api.root_resource_id, path_part="referrers"
        )
        referrer = ApiGatewayResource(self, "referrer", rest_api_id=api_id, parent_id=referrers.id, path_part="{code}")
        body_validator = ApiGatewayRequestValidator(
            self, "body-validator", rest_api_id=api_id, name="request-body", validate_request_body=True
        )
        params_validator = ApiGatewayRequestValidator(
            self, "params-validator", rest_api_id=api_id, name="request-parameters", validate_request_parameters=True
        )
        signup_model = self._body_model("signup-model", "Signup", SIGNUP_SCHEMA)
        # Refusals by API Gateway itself answer in the same {"error": ...} shape as the functions.
        bad_body = ApiGatewayGatewayResponse(
            self,
            "bad-request-body",
            rest_api_id=api_id,
            response_type="BAD_REQUEST_BODY",
            status_code="400",
            response_templates={
                "application/json": '{"error": "invalid request body: $context.error.validationErrorString"}'
            },
        )
        routes = [
            self._route(
                "post-signup",
                signup,
                "POST",
                "signup",
                backend,
                request_validator_id=body_validator.id,
                request_models={"application/json": signup_model.name},
            ),
            self._route(
                "get-referrer",
                referrer,
                "GET",
                "referrers/*",
                backend,
                request_validator_id=params_validator.id,
                request_parameters={"method.request.path.code": True},
            ),
        ]
        admin_parts, admin_routes = self._admin_routes(admin_backend, body_validator, params_validator)
        routes += admin_routes
        # A deployment is a snapshot: redeploy whenever any part of the API changes, new before old.
        redeploy_on = (
            [
                part.id
                for part in (signup, referrers, referrer, body_validator, params_validator, signup_model, bad_body)
            ]
            + [part.id for part in admin_parts]
            + [part.id for route in routes for part in route]
        )
        self.deployment = ApiGatewayDeployment(
            self,
            "deployment",
            rest_api_id=api_id,
            triggers={"redeployment": Fn.sha1(Fn.jsonencode(redeploy_on))},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        self.access_log_group = CloudwatchLogGroup(
            self,
            "access-logs",
            name=access_log_group_name(self.api_name),
            retention_in_days=config.log_retention_days,
            kms_key_id=kms_key_arn,
        )
        # Access logging needs the account's CloudWatch role, which the tap-account stack sets
        # once per account and region (stacks/account_stack.py), not each environment.
        self.stage = ApiGatewayStage(
            self,
            "stage",
            rest_api_id=api_id,
            deployment_id=self.deployment.id,
            stage_name=suffix,
            xray_tracing_enabled=True,
            access_log_settings=ApiGatewayStageAccessLogSettings(
                destination_arn=self.access_log_group.arn, format=ACCESS_LOG_FORMAT
            ),
        )
        ApiGatewayMethodSettings(
            self,
            "method-settings",
            rest_api_id=api_id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=ApiGatewayMethodSettingsSettings(
                throttling_rate_limit=config.api_rate_limit,
                throttling_burst_limit=config.api_burst_limit,
                metrics_enabled=True,
                logging_level="ERROR",
                data_trace_enabled=False,  # full request logs would hold e-mail addresses
            ),
        )
        self.api_key = self._api_key_and_usage_plan(config)
        # What the admin callers' policy grants: exactly the admin methods, on this stage only.
        self.admin_route_arns = admin_route_arns(self.rest_api.execution_arn, suffix)

    def _admin_routes(
        self,
        backend: LambdaFunction,
        body_validator: ApiGatewayRequestValidator,
        params_validator: ApiGatewayRequestValidator,
    ) -> tuple[list[ApiPart], list[tuple[ApiGatewayMethod, ApiGatewayIntegration]]]:
        """GET /referrals (the review queue) and POST /referrals/{userId}/<action>, AWS_IAM authorized."""
        api_id = self.rest_api.id
        referrals = ApiGatewayResource(
            self, "referrals", rest_api_id=api_id, parent_id=self.rest_api.root_resource_id, path_part="referrals"
        )
        referral = ApiGatewayResource(
            self, "referral", rest_api_id=api_id, parent_id=referrals.id, path_part="{userId}"
        )
        reverse_model = self._body_model("reverse-model", "Reverse", REVERSE_SCHEMA)
        # A listing without its status is refused by the function too; answered in its {"error": ...} shape.
        missing_parameter = ApiGatewayGatewayResponse(
            self,
            "bad-request-parameters",
            rest_api_id=api_id,
            response_type="BAD_REQUEST_PARAMETERS",
            status_code="400",
            response_templates={
                "application/json": '{"error": "invalid request parameters: $context.error.validationErrorString"}'
            },
        )
        parts: list[ApiPart] = [
            referrals,
            referral,
            reverse_model,
            missing_parameter,
        ]
        queue_parameters = {
            "request_validator_id": params_validator.id,
            "request_parameters": {"method.request.querystring.status": True},
        }
        routes = [
            self._route("get-review-queue", referrals, "GET", "referrals", backend, **_SIGNED, **queue_parameters)
        ]
        for action in ADMIN_ACTIONS:
            resource = ApiGatewayResource(
                self, f"referral-{action}", rest_api_id=api_id, parent_id=referral.id, path_part=action
            )
            parts.append(resource)
            # qualify and approve take no body or {}: the function checks that; a model could not
            # let an empty body through, so only reverse's fixed shape is checked here as well.
            body = (
                {"request_validator_id": body_validator.id, "request_models": {"application/json": reverse_model.name}}
                if action == "reverse"
                else {
                    "request_validator_id": params_validator.id,
                    "request_parameters": {"method.request.path.userId": True},
                }
            )
            routes.append(
                self._route(f"post-{action}", resource, "POST", f"referrals/*/{action}", backend, **_SIGNED, **body)
            )
        return parts, routes

    def _body_model(self, id_: str, name: str, schema: dict) -> ApiGatewayModel:
        return ApiGatewayModel(
            self,
            id_,
            rest_api_id=self.rest_api.id,
            name=name,
            content_type="application/json",
            schema=json.dumps(schema),
        )

    def _route(
        self,
        id_: str,
        resource: ApiGatewayResource,
        http_method: str,
        path: str,
        backend: LambdaFunction,
        **method_options: object,
    ) -> tuple[ApiGatewayMethod, ApiGatewayIntegration]:
        options = {**_KEYED, **method_options}
        method = ApiGatewayMethod(
            self,
            f"{id_}-method",
            rest_api_id=self.rest_api.id,
            resource_id=resource.id,
            http_method=http_method,
            **options,  # type: ignore[arg-type]  # authorization, validator, models, parameters per route
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
        LambdaPermission(
            self,
            f"{id_}-permission",
            statement_id=f"AllowApiGateway-{id_}",
            action="lambda:InvokeFunction",
            function_name=backend.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=api_invoke_source_arn(self.rest_api.execution_arn, http_method, path),
        )
        return method, integration

    def _api_key_and_usage_plan(self, config: StackConfig) -> ApiGatewayApiKey:
        plan = ApiGatewayUsagePlan(
            self,
            "usage-plan",
            name=f"{self.api_name}-default",
            description="Every caller of the referral API: throttle and daily quota per key",
            api_stages=[ApiGatewayUsagePlanApiStages(api_id=self.rest_api.id, stage=self.stage.stage_name)],
            throttle_settings=ApiGatewayUsagePlanThrottleSettings(
                rate_limit=config.api_rate_limit, burst_limit=config.api_burst_limit
            ),
            quota_settings=ApiGatewayUsagePlanQuotaSettings(limit=config.api_quota_per_day, period="DAY"),
        )
        key = ApiGatewayApiKey(
            self, "api-key", name=f"{self.api_name}-default", description="Default key of the referral API"
        )
        ApiGatewayUsagePlanKey(self, "usage-plan-key", key_id=key.id, key_type="API_KEY", usage_plan_id=plan.id)
        return key
