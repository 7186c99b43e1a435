"""Registers the moto fixtures of fake_aws.py for every handler test."""

from tests.lambdas.fake_aws import aws

__all__ = ["aws"]
