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
STATUS_PENDING = "pending"
STATUS_PAID = "paid"

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

# Both GSIs project just what a payout needs besides the table keys.
PAYOUT_PROJECTION = (REFERRER_ID, REWARD_AMOUNT)

# Idempotency table.
IDEMPOTENCY_KEY = "idempotency_key"
TTL = "ttl"
# Payout run record (key payout-YYYY-MM): its STATUS, and the summary map the completing update
# stores, from which the stream relay writes the payout.completed message.
RUN_IN_PROGRESS = "in_progress"
RUN_COMPLETED = "completed"
RUN_SUMMARY = "summary"

# Reward calculator
# Referral item attributes besides the ones above.
EMAIL = "email"
SIGNUP_DATE = "signup_date"  # ISO-8601 UTC
REFERRAL_NUMBER = "referral_number"  # the referrer's referral_count after this referral

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

# Payout processor
# Profile attribute (string set) of the payout ids already added to PAID_TOTAL, so a resumed
# payout cannot credit a referrer twice.
PAID_PAYOUTS = "paid_payouts"
