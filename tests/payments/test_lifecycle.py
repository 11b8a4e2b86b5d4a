"""The payment state machine moves only forward."""

from payments.lifecycle import TRANSITIONS, PaymentStatus, can_transition

P = PaymentStatus
ORDER = [P.CREATED, P.PROCESSING, P.FAILED, P.SUCCEEDED, P.PARTIALLY_REFUNDED, P.REFUNDED]


def test_every_status_has_an_entry():
    assert set(TRANSITIONS) == set(P.values)


def test_the_main_path_only_moves_forward():
    for earlier, later in zip(ORDER, ORDER[1:], strict=False):
        assert can_transition(earlier, later), (earlier, later)
    for index, later in enumerate(ORDER):
        for earlier in ORDER[:index]:
            assert not can_transition(later, earlier), f"{later} must not go back to {earlier}"


def test_a_declined_attempt_can_still_succeed_but_success_never_fails():
    assert can_transition(P.FAILED, P.SUCCEEDED)
    assert not can_transition(P.SUCCEEDED, P.FAILED)
    assert not can_transition(P.REFUNDED, P.SUCCEEDED)


def test_side_states():
    assert can_transition(P.CREATED, P.NEEDS_REVIEW)
    assert not can_transition(P.NEEDS_REVIEW, P.FAILED)
    assert can_transition(P.NEEDS_REVIEW, P.REFUNDED)
    assert can_transition(P.SUCCEEDED, P.DISPUTED)
    assert TRANSITIONS[P.DISPUTED] == frozenset()
    assert TRANSITIONS[P.CANCELED] == frozenset()
