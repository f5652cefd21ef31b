"""Ledger part of the CLI: the ``creditcore demo`` walk-through on a SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from creditcore.ledger import Balance, Ledger, ManualClock, Transaction
from creditcore.pricing import example_catalog
from creditcore.stores.sqlite import SQLiteStore

__all__ = ["demo_section"]

_START = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def _bal(b: Balance) -> str:
    return (
        f"current {b.current:>4} = subscription {b.monthly_allowance - b.consumed_this_month:>3}"
        f"/{b.monthly_allowance:<3} + purchased {b.purchased:>4}   (held {b.held}, "
        f"available {b.available})"
    )


def _drawn(ledger: Ledger, tx: Transaction) -> str:
    kinds = {lot.id: lot.kind for lot in ledger.store.lots(tx.user_id)}
    parts = [f"{n} from {kinds.get(lot_id, '?')}" for lot_id, n in tx.drawn().items()]
    return ", ".join(parts) or "-"


def demo_section(out: TextIO, workdir: Path) -> None:
    """Print the ledger part of the demo, on a SQLite file inside ``workdir``.

    Purchases, a consumption drawn purchased-first, a failed generation refunded, a duplicated
    webhook ignored, a monthly reset that keeps purchased credits, the history, a verify.
    """
    catalog = example_catalog()
    path = workdir / "ledger-demo.sqlite3"
    path.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    clock = ManualClock(_START)
    store = SQLiteStore(path)
    try:
        ledger = Ledger(store, clock)
        say = out.write
        say(f"\n== Ledger (SQLite file {path.name}, clock starts {_START:%Y-%m-%d %H:%M} UTC) ==\n")
        plus = catalog.tier("PLUS")
        ledger.open_account("ada", monthly_allowance=plus.monthly_credits, tier=plus.name)
        say(f"open account 'ada' on {plus.name}:        {_bal(ledger.balance('ada'))}\n")

        pack = catalog.pack("studio-pack")
        ledger.purchase("ada", pack.credits, payment_id="pi_demo_1", amount=pack.price, pack=pack)
        say(
            f"buy {pack.name} ({pack.credits} for {pack.price.amount} {pack.price.currency}): "
            f"{_bal(ledger.balance('ada'))}\n"
        )

        clock.advance(timedelta(minutes=5))
        again = ledger.purchase(
            "ada", pack.credits, payment_id="pi_demo_1", amount=pack.price, pack=pack
        )
        say(
            f"same webhook delivered again -> transaction #{again.seq} returned, nothing added: "
            f"{_bal(ledger.balance('ada'))}\n"
        )

        clock.advance(timedelta(minutes=5))
        wan = ledger.charge("ada", "wan-2.5", catalog=catalog, key="job-1")
        say(
            f"charge wan-2.5 ({wan.credits} credits, api cost {wan.metadata['api_cost']} "
            f"{wan.metadata['currency']}): drawn {_drawn(ledger, wan)}\n"
            f"  {_bal(ledger.balance('ada'))}\n"
        )

        hold = ledger.reserve("ada", 12, ttl=timedelta(minutes=10), key="job-2")
        say(f"reserve 12 for a Seedance job:          {_bal(ledger.balance('ada'))}\n")
        clock.advance(timedelta(minutes=2))
        job = ledger.capture(hold.id, key="job-2-capture")
        say(f"capture the hold (12 credits):          {_bal(ledger.balance('ada'))}\n")
        ledger.refund(job.id, key="job-2-failed")
        say(f"the provider call failed -> refund it:  {_bal(ledger.balance('ada'))}\n")

        batch = ledger.consume("ada", 600, metadata={"note": "a big batch"})
        say(f"consume 600: drawn {_drawn(ledger, batch)}\n  {_bal(ledger.balance('ada'))}\n")

        offer = catalog.offer("weekend-flash-sale")
        clock.set(datetime(2026, 11, 20, 23, 30, tzinfo=UTC))  # Friday 18:30 in New York
        ledger.purchase(
            "ada", offer.credits, payment_id="pi_demo_2", amount=offer.price, kind="lootbox",
            offer=offer,
        )  # fmt: skip
        say(f"buy the {offer.name} lootbox ({offer.credits}): {_bal(ledger.balance('ada'))}\n")

        clock.set(datetime(2026, 12, 1, 0, 5, tzinfo=UTC))
        reset = ledger.reset_all("2026-12")
        twice = ledger.reset_all("2026-12")
        expired = reset[0].metadata["expired"] if reset else 0
        say(
            f"monthly reset 2026-12 ({len(reset)} account, {expired} unused subscription credits "
            f"expired, purchased kept; run again: {len(twice)} changes):\n"
            f"  {_bal(ledger.balance('ada'))}\n"
        )

        say("history (newest first; legs per lot kind and system account):\n")
        kinds = {lot.id: lot.kind for lot in store.lots("ada")}
        for tx in ledger.history("ada", limit=20).transactions:
            legs = " ".join(
                f"{kinds.get(e.lot_id, '?') if e.lot_id else e.account}{e.delta:+d}"
                for e in tx.entries
            )
            say(
                f"  #{tx.seq:<2} {tx.created_at:%Y-%m-%d %H:%M} {tx.kind:<8} {tx.credits:>4}  {legs}\n"
            )
        report = ledger.verify("ada")
        say(
            f"verify: replayed {report.transactions} transactions -> "
            f"{'OK' if report.ok else 'MISMATCH: ' + '; '.join(report.problems)}\n"
        )
    finally:
        store.close()
