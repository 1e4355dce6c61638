"""10_producer_consumer: through a Queue, every item produced is consumed exactly once."""

import re


def check(example):
    out, _ = example.run()

    # One producer, one consumer: FIFO order, then the close ends the consumer.
    consumed = [int(v) for v in re.findall(r"^consumed (\d+)$", out, re.MULTILINE)]
    example.expect(consumed == list(range(1, 11)), f"1..10 consumed in order, got {consumed}")
    example.expect_line(out, r"^queue closed: the consumer stops$", "close ends the consumer")
    m = example.expect_line(out, r"^produced: sum (\d+); consumed: sum (\d+)$", "1:1 sums")
    if m:
        example.expect(m.group(1) == m.group(2) == "55", f"1:1 sums: {m.group(0)}")

    # Several producers and consumers on two loops: the consumers' tallies add up to what
    # the producers pushed, and the per-item counts say each item came out exactly once.
    produced = example.expect_line(out, r"^produced: (\d+) items \(\d+ producers\), sum (\d+)$",
                                   "what the producers pushed")
    tallies = [(int(n), int(s)) for n, s in
               re.findall(r"^consumer \d+: (\d+) items, sum (\d+), ran on loops(?: \d+)*$", out,
                          re.MULTILINE)]
    example.expect(len(tallies) == 4, f"4 consumer tallies, got {len(tallies)}")
    total = example.expect_line(
        out, r"^consumed: (\d+) items, sum (\d+); delivered exactly once: (\d+) of (\d+)$",
        "the consumers' totals")
    if produced and total:
        items, total_sum = int(produced.group(1)), int(produced.group(2))
        example.expect(sum(n for n, _ in tallies) == items,
                       f"the consumers got {sum(n for n, _ in tallies)} items, produced {items}")
        example.expect(sum(s for _, s in tallies) == total_sum,
                       f"the consumers' sums add to {sum(s for _, s in tallies)}, "
                       f"produced {total_sum}")
        example.expect((int(total.group(1)), int(total.group(2))) == (items, total_sum),
                       f"totals {total.group(0)} vs produced {produced.group(0)}")
        example.expect(int(total.group(3)) == int(total.group(4)) == items,
                       f"every item exactly once: {total.group(0)}")
