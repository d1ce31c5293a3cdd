"""Counts configure calls (TestConfigureOnce)."""
import logging

from mitmproxy import ctx

calls = []


def load(loader):
    loader.add_option("cc_opt", str, "default", "An option of the script.")


def configure(updated):
    calls.append(sorted(updated))
    logging.info("configure #%d: %d options, cc_opt in updated: %s, value %s, scripts in updated: %s"
                 % (len(calls), len(updated), "cc_opt" in updated, ctx.options.cc_opt, "scripts" in updated))
