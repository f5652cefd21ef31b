"""Out-of-order and duplicated deliveries end in the same state as one in-order delivery.

A provider may deliver any event several times and in any order, and retries every delivery
answered with a non-2xx status. The model below does exactly that: deliveries answered 409
(a refund or dispute before its payment landed) go to the back of the queue.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.payments.harness import STUDIO_CREDITS, Endpoint, T
from tests.payments.stripe_payloads import charge_refunded, checkout_completed, dispute_created
from tests.strategies.payments import PaymentStory, deliveries, payment_stories

USERS = ("user-a", "user-b")
ALLOWANCE = 15


def events_of(story: PaymentStory) -> list[dict[str, Any]]:
    """The Stripe events of one story, in the order Stripe would first send them."""
    i = story.index
    completions = [("paid", "checkout.session.completed")]
    if story.async_success:
        completions.append(("async", "checkout.session.async_payment_succeeded"))
    out = [
        checkout_completed(
            f"evt_{i}_{suffix}",
            created=T - 100 + n,
            session_id=f"cs_{i}",
            payment_intent=f"pi_{i}",
            user_id=story.user_id,
            amount_total=29999,  # the Studio Pack's price: a completion must match the catalog
            event_type=event_type,
        )
        for n, (suffix, event_type) in enumerate(completions)
    ]
    for k, refunded in enumerate(story.refunds):
        out.append(
            charge_refunded(
                f"evt_{i}_refund_{k}",
                created=T - 80 + k,
                amount=story.amount,
                amount_refunded=refunded,
                payment_intent=f"pi_{i}",
                charge_id=f"ch_{i}",
            )
        )
    if story.disputed:
        out.append(
            dispute_created(
                f"evt_{i}_dispute",
                created=T - 10,
                amount=story.amount,
                payment_intent=f"pi_{i}",
                charge_id=f"ch_{i}",
            )
        )
    return out


def expected_revoked(story: PaymentStory) -> int:
    """Brute force: the fewest credits whose price covers the largest refund; all if disputed."""
    if story.disputed:
        return STUDIO_CREDITS
    refunded = max(story.refunds, default=0)
    return next(
        n for n in range(STUDIO_CREDITS + 1) if n * story.amount >= STUDIO_CREDITS * refunded
    )


def deliver_like_stripe(endpoint: Endpoint, queue: list[dict[str, Any]]) -> int:
    """Deliver until every event was acknowledged; returns how many deliveries it took."""
    pending = deque(queue)
    attempts = 0
    while pending:
        attempts += 1
        assert attempts <= 10 * len(queue) + 10, "deliveries never converge"
        document = pending.popleft()
        result = endpoint.deliver(document)
        if result.status == 409:
            pending.append(document)
            continue
        assert result.status == 200, (result.status, result.code, result.message)
    return attempts


def final_state(endpoint: Endpoint, stories: tuple[PaymentStory, ...]) -> dict[str, object]:
    state: dict[str, object] = {}
    for user in USERS:
        balance = endpoint.ledger.balance(user)
        state[user] = (balance.current, balance.purchased, balance.debt)
        assert endpoint.ledger.verify(user).ok
    for story in stories:
        state[f"pi_{story.index}"] = endpoint.revoked(story.user_id, f"pi_{story.index}")
    return state


@given(st.data())
def test_any_order_with_duplicates_gives_the_in_order_state(data: st.DataObject) -> None:
    stories = data.draw(payment_stories(USERS))
    in_order = [event for story in stories for event in events_of(story)]
    shuffled = data.draw(deliveries(in_order))

    reference = Endpoint(USERS, allowance=ALLOWANCE)
    assert deliver_like_stripe(reference, in_order) == len(in_order)  # in order: no retry
    endpoint = Endpoint(USERS, allowance=ALLOWANCE)
    deliver_like_stripe(endpoint, shuffled)

    assert final_state(endpoint, stories) == final_state(reference, stories)
    for user in USERS:
        mine = [s for s in stories if s.user_id == user]
        purchased = sum(STUDIO_CREDITS - expected_revoked(s) for s in mine)
        assert final_state(endpoint, stories)[user] == (ALLOWANCE + purchased, purchased, 0)
    for story in stories:
        assert final_state(endpoint, stories)[f"pi_{story.index}"] == expected_revoked(story)


def test_a_refund_delivered_before_its_payment_is_retried_until_it_applies() -> None:
    story = PaymentStory(0, "user-a", 29999, (10000,), disputed=False, async_success=False)
    paid, refund = events_of(story)
    endpoint = Endpoint(USERS)
    assert deliver_like_stripe(endpoint, [refund, paid, refund]) == 4
    # 500 credits × 100.00 / 299.99 = 166.67, rounded up
    assert endpoint.revoked("user-a", "pi_0") == 167
    assert endpoint.purchased("user-a") == 333


def test_concurrent_deliveries_from_eight_threads_land_exactly_once() -> None:
    story = PaymentStory(
        0, "user-a", 29999, (3000, 9000, 15000), disputed=False, async_success=True
    )
    events = events_of(story)
    endpoint = Endpoint(USERS)
    barrier = threading.Barrier(8)
    failures: list[str] = []

    def worker(seed: int) -> None:
        queue = events[:]
        random.Random(seed).shuffle(queue)
        barrier.wait()
        try:
            deliver_like_stripe(endpoint, queue)
        except AssertionError as error:  # pragma: no cover - reported below
            failures.append(str(error))

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    # 500 × 150.00 / 299.99 = 250.008 → 251 revoked, once, whatever the interleaving
    assert endpoint.revoked("user-a", "pi_0") == 251
    assert endpoint.purchased("user-a") == 249
    purchases = [t for t in endpoint.ledger.store.transactions("user-a") if t.kind == "purchase"]
    assert len(purchases) == 1
    assert endpoint.ledger.verify("user-a").ok
