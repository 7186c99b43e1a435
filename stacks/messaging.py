"""Messages out of the system: the reward notification topic and the dead-letter queues."""

from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from cdktf_cdktf_provider_aws.sqs_queue_policy import SqsQueuePolicy
from constructs import Construct

from stacks.config import StackConfig
from stacks.policies import dead_letter_queue_policy, reward_topic_policy

DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum: two weeks to inspect a failed payout


class Messaging(Construct):
    def __init__(self, scope: Construct, id_: str, config: StackConfig, kms_key_arn: str) -> None:
        super().__init__(scope, id_)
        suffix = config.environment_suffix
        self.reward_topic = SnsTopic(
            self,
            "reward-topic",
            name=f"reward-notifications-{suffix}",
            kms_master_key_id=kms_key_arn,
        )
        SnsTopicPolicy(
            self,
            "reward-topic-policy",
            arn=self.reward_topic.arn,
            policy=reward_topic_policy(self.reward_topic.arn),
        )
        # Failed asynchronous payout invocations (after Lambda's own retries) land here.
        self.payout_dlq = self._queue("payout-dlq", f"payout-processing-dlq-{suffix}", kms_key_arn, config)
        # Schedules that Scheduler could not deliver to the function land here.
        self.schedule_dlq = self._queue("schedule-dlq", f"payout-schedule-dlq-{suffix}", kms_key_arn, config)
        # Stream batches the event relay could not publish (their shard and sequence numbers) land here.
        self.relay_dlq = self._queue("relay-dlq", f"event-relay-dlq-{suffix}", kms_key_arn, config)

    def _queue(self, id_: str, name: str, kms_key_arn: str, config: StackConfig) -> SqsQueue:
        queue = SqsQueue(
            self,
            id_,
            name=name,
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            kms_master_key_id=kms_key_arn,
        )
        SqsQueuePolicy(
            self,
            f"{id_}-policy",
            queue_url=queue.url,
            policy=dead_letter_queue_policy(queue.arn, config.operator_role_arns),
        )
        return queue
