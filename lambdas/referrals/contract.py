"""Names of stored data that the handlers and the stack agree on (../shared/GUIDE.md section 3).

The stack cannot import this module (it never imports Lambda code), so it repeats these names;
tests/stack checks that both sides agree.
"""

# Referral table keys. A profile item sits at (user_id, PROFILE_TIMESTAMP); a referral item
# at (new user's id, signup time in epoch milliseconds).
USER_ID = "user_id"
REFERRAL_TIMESTAMP = "referral_timestamp"
PROFILE_TIMESTAMP = 0

# Referral item attributes.
REFERRER_ID = "referrer_id"
REWARD_AMOUNT = "reward_amount"
STATUS = "status"
STATUS_PENDING = "pending"  # items from before the lifecycle: read as payable, qualified at signup
STATUS_PAID = "paid"
# The reward lifecycle (referrals/lifecycle.py, docs/lifecycle-design.md#storage). A reward that
# is paid and then reversed stays STATUS_PAID and gains CLAWED_BACK_AT: paid items are never edited back.
STATUS_WAITING = "waiting"
STATUS_FLAGGED = "flagged"
STATUS_PAYABLE = "payable"
STATUS_REVERSED = "reversed"
QUALIFIED_AT, QUALIFIED_BY = "qualified_at", "qualified_by"  # epoch ms; the admin caller's ARN
APPROVED_AT, APPROVED_BY = "approved_at", "approved_by"
REVERSED_AT, REVERSED_BY, REVERSAL_REASON = "reversed_at", "reversed_by", "reversal_reason"
CLAWED_BACK_AT = "clawed_back_at"
PAYABLE_AT = "payable_at"  # epoch ms: the first payout whose cutoff is later pays the reward
REVIEW_SIGNALS = "review_signals"  # string set: why the signup was flagged

# Profile item attributes.
REFERRAL_COUNT = "referral_count"
TOTAL_REWARDS = "total_rewards"
PAID_TOTAL = "paid_total"

# GSI on referrer_id over referral items (profiles carry no referrer_id, so they stay out of it).
REFERRER_INDEX = "referrer-index"

# Sparse GSI over unpaid rewards: PENDING_KEY exists (value PENDING_KEY_VALUE) only on pending
# referral items and is removed when a payout claims the item. Range key is REFERRAL_TIMESTAMP,
# so "pending and created before the cutoff" is one key condition.
PENDING_REWARDS_INDEX = "pending-rewards-index"
PENDING_KEY = "pending_reward"
PENDING_KEY_VALUE = "pending"

# Sparse GSI over paid rewards by payout: PAYOUT_ID is set when a payout claims the item, so a
# resumed payout finds what it already claimed. Range key is REFERRAL_TIMESTAMP.
PAYOUT_INDEX = "payout-index"
PAYOUT_ID = "payout_id"

# Sparse GSI over payable rewards: PAYABLE_KEY exists only while a reward is payable; range key
# PAYABLE_AT, so "payable before the cutoff" is one key condition (the hold is baked into it).
PAYABLE_REWARDS_INDEX = "payable-rewards-index"
PAYABLE_KEY = "payable_reward"
PAYABLE_KEY_VALUE = STATUS_PAYABLE

# Sparse GSI over flagged rewards (the review queue), oldest first by REFERRAL_TIMESTAMP.
REVIEW_QUEUE_INDEX = "review-queue-index"
FLAGGED_KEY = "flagged_reward"
FLAGGED_KEY_VALUE = STATUS_FLAGGED

# The clawback ledger: a clawback at (`<referee>#clawback`, the reward's REFERRAL_TIMESTAMP), a
# carry at (`<referrer>#carry`, the payout's cutoff). No user id contains '#', so neither is
# anyone's profile. Both have REFERRER_ID, REWARD_AMOUNT (owed, positive) and a STATUS.
CLAWBACK_SUFFIX = "#clawback"
CARRY_SUFFIX = "#carry"
CLAWBACK_OPEN = "open"
CLAWBACK_SETTLED = "settled"
CLAWBACK_AT = "clawback_at"  # epoch ms: when it was recorded (a carry: the payout's cutoff)
SETTLED_AT = "settled_at"
CARRIED_BY_PAYOUT = "carried_by_payout"  # a carry: the payout that recorded it

# Sparse GSI over open clawbacks and carries: OPEN_CLAWBACK_KEY exists only while open; range key
# CLAWBACK_AT, so "open and recorded before the cutoff" is one key condition.
OPEN_CLAWBACKS_INDEX = "open-clawbacks-index"
OPEN_CLAWBACK_KEY = "open_clawback"
OPEN_CLAWBACK_KEY_VALUE = CLAWBACK_OPEN

# The payout GSIs project just what a payout needs besides the table keys.
PAYOUT_PROJECTION = (REFERRER_ID, REWARD_AMOUNT)

# Idempotency table.
IDEMPOTENCY_KEY = "idempotency_key"
TTL = "ttl"
# Payout run record (key payout-YYYY-MM): its STATUS, and the summary map the completing update
# stores, from which the stream relay writes the payout.completed message.
RUN_IN_PROGRESS = "in_progress"
RUN_COMPLETED = "completed"
RUN_SUMMARY = "summary"
# Set on the run record once the run has settled the clawbacks it nets (before any credit): a
# resumed run then settles no more, so it nets exactly what the credits were computed from.
RUN_NETTED_AT = "netted_at"

# Reward calculator
# Referral item attributes besides the ones above.
EMAIL = "email"
SIGNUP_DATE = "signup_date"  # ISO-8601 UTC
REFERRAL_NUMBER = "referral_number"  # the referrer's referral_count after this referral

# What review-queue-index projects besides the keys: what a page of the queue shows of a reward.
REVIEW_QUEUE_PROJECTION = (REFERRER_ID, REWARD_AMOUNT, REVIEW_SIGNALS, SIGNUP_DATE, QUALIFIED_AT)

# Profile attributes of a user who signed up with a code: who referred them and the
# REFERRAL_TIMESTAMP of their referral item, so an identical retry finds it with one GetItem.
REFERRED_BY = "referred_by"
REFERRED_AT = "referred_at"

# The referrer's signup queue (referrals/signup_queue.py, stored by referral_store.py on an item
# of its own next to the profile): the number of the last ticket taken, and on the profile the
# ticket of the latest committed signup. They only schedule commits; no count or amount depends
# on them. (Profiles from before the queue item may still carry `signup_tickets` and
# `last_ticket_at`; nothing reads them.)
SIGNUP_TICKETS = "signup_tickets"
SERVED_TICKET = "served_ticket"

# Notifications (SNS, published by the stream relay, referrals/outbox_events.py): message "type"
# and the message attribute carrying it.
EVENT_TYPE_ATTRIBUTE = "event_type"
REFERRAL_REWARDED = "referral.rewarded"
# The reward lifecycle's transitions (docs/lifecycle-design.md#events), one message each.
REWARD_FLAGGED = "reward.flagged"
REWARD_QUALIFIED = "reward.qualified"
REWARD_APPROVED = "reward.approved"
REWARD_REVERSED = "reward.reversed"
REWARD_CLAWED_BACK = "reward.clawed_back"

# Payout processor
# Profile attribute (string set) of the payout ids already added to PAID_TOTAL, so a resumed
# payout cannot credit a referrer twice.
PAID_PAYOUTS = "paid_payouts"
