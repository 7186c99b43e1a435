"""Referral domain: plain Python decisions plus the data-access modules that talk to AWS."""
