"""Names of indexes and key prefixes that the stack, its policies and the Lambda code share.

The Lambda side has its own copy in lambdas/referrals/contract.py (the stack may not import Lambda
code); tests/stack checks they agree.
"""

REFERRER_INDEX = "referrer-index"
PENDING_REWARDS_INDEX = "pending-rewards-index"
PAYOUT_INDEX = "payout-index"
PAYOUT_PROJECTION = ["referrer_id", "reward_amount"]
REPORTS_PREFIX = "payouts/"  # the payout writes payouts/YYYY-MM/payout-report.csv
