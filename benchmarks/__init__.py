"""`python -m benchmarks`: what users pay for, measured the same way on any machine.

Synthesis time and memory, handler cold start, AWS calls per signup, items read and writes per
paid reward, and the test suite's wall time; one table on stdout, the same figures with the
machine's facts in build/bench.json. Timings are reported, never asserted.
"""
