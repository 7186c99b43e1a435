"""`python -m referrals_cli`, the same as the `referrals` console script."""

from referrals_cli.app import main

main()
