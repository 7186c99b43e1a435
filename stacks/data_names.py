"""Names of indexes and key prefixes that the stack, its policies and the Lambda code share.

The Lambda side has its own copy in lambdas/referrals/contract.py (the stack may not import Lambda
code); tests/stack checks they agree.
"""

REFERRER_INDEX = "referrer-index"
PENDING_REWARDS_INDEX = "pending-rewards-index"
PAYOUT_INDEX = "payout-index"
PAYOUT_PROJECTION = ["referrer_id", "reward_amount"]
# The reward lifecycle's sparse indexes (docs/lifecycle-design.md#storage): each holds only what
# one reader reads, keyed on an attribute that exists only while the item is in that state.
PAYABLE_REWARDS_INDEX = "payable-rewards-index"  # the payout: payable rewards by payable_at
PAYABLE_KEY, PAYABLE_AT = "payable_reward", "payable_at"
REVIEW_QUEUE_INDEX = "review-queue-index"  # the admin function: flagged rewards, oldest first
FLAGGED_KEY = "flagged_reward"
REVIEW_QUEUE_PROJECTION = ["referrer_id", "reward_amount", "review_signals", "signup_date", "qualified_at"]
OPEN_CLAWBACKS_INDEX = "open-clawbacks-index"  # the payout: clawbacks and carries still to net
OPEN_CLAWBACK_KEY, CLAWBACK_AT = "open_clawback", "clawback_at"
REPORTS_PREFIX = "payouts/"  # the payout writes payouts/YYYY-MM/payout-report.csv
EMAIL_KEY_SUFFIX = "#email"  # an e-mail key item is (<HMAC of the address>#email, 0): the backfill writes only those
