"""The CDKTF stack of the referral management system: one module per concern."""
