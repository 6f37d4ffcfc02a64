//! The rotation rules (`decide`) and the token format.

use super::*;

const LIFETIMES: Lifetimes = Lifetimes {
    idle: 600,
    absolute: 3600,
    reuse_grace: 10,
};

fn session(now: i64) -> Session {
    Session {
        id: "s".into(),
        user_id: "u".into(),
        created_at: now,
        last_used_at: now,
        expires_at: now + LIFETIMES.absolute,
        revoked_at: None,
        revoked_reason: None,
        user_agent: None,
        ip: None,
        amr: "pwd".into(),
        authenticated_at: now,
    }
}

fn token(used_at: Option<i64>) -> RefreshToken {
    RefreshToken {
        id: 1,
        session_id: "s".into(),
        token_hash: vec![0; 32],
        parent_id: None,
        issued_at: 0,
        used_at,
        retried_at: None,
    }
}

/// The default rules.
fn decide(
    token: &RefreshToken,
    session: &Session,
    successor_unused: Option<bool>,
    now: i64,
    lifetimes: &Lifetimes,
) -> Rotation {
    super::decide(
        token,
        session,
        successor_unused,
        now,
        lifetimes,
        RefreshRetry::SameSuccessor,
    )
}

#[test]
fn an_unused_token_of_a_live_session_rotates() {
    assert_eq!(
        decide(&token(None), &session(100), None, 100, &LIFETIMES),
        Rotation::Rotate
    );
}

#[test]
fn a_token_used_inside_the_grace_window_gets_the_same_successor() {
    let used = token(Some(100));
    assert_eq!(
        decide(&used, &session(100), Some(true), 110, &LIFETIMES),
        Rotation::ReissueSuccessor
    );
}

#[test]
fn the_predecessor_of_an_unused_successor_gets_it_again_long_after_the_grace_window() {
    let used = token(Some(100));
    let later = session(100);
    assert_eq!(
        decide(&used, &later, Some(true), 599, &LIFETIMES),
        Rotation::ReissueSuccessor
    );
}

#[test]
fn a_token_handed_out_by_a_late_retry_is_reuse_on_its_second_use_after_the_grace_window() {
    let shared = RefreshToken {
        retried_at: Some(300),
        ..token(Some(305))
    };
    assert_eq!(
        decide(&shared, &session(100), Some(true), 310, &LIFETIMES),
        Rotation::ReissueSuccessor,
        "inside its grace window it is still a retry"
    );
    assert_eq!(
        decide(&shared, &session(100), Some(true), 316, &LIFETIMES),
        Rotation::Reuse
    );
}

#[test]
fn strict_retry_makes_it_reuse_after_the_grace_window() {
    let used = token(Some(100));
    let strict = |now| {
        super::decide(
            &used,
            &session(100),
            Some(true),
            now,
            &LIFETIMES,
            RefreshRetry::Strict,
        )
    };
    assert_eq!(strict(110), Rotation::ReissueSuccessor);
    assert_eq!(strict(111), Rotation::Reuse);
}

#[test]
fn a_token_two_generations_old_is_reuse_inside_and_after_the_grace_window() {
    let used = token(Some(100));
    for now in [101, 111, 500] {
        assert_eq!(
            decide(&used, &session(100), Some(false), now, &LIFETIMES),
            Rotation::Reuse
        );
    }
}

#[test]
fn a_used_token_without_successor_is_reuse() {
    assert_eq!(
        decide(&token(Some(100)), &session(100), None, 101, &LIFETIMES),
        Rotation::Reuse
    );
}

#[test]
fn revoked_idle_and_expired_sessions_refuse_every_token() {
    let mut revoked = session(100);
    revoked.revoked_at = Some(100);
    assert_eq!(
        decide(&token(None), &revoked, None, 101, &LIFETIMES),
        Rotation::Refuse
    );
    // Idle: last used 600 s ago.
    assert_eq!(
        decide(&token(None), &session(100), None, 700, &LIFETIMES),
        Rotation::Refuse
    );
    assert_eq!(
        decide(&token(None), &session(100), None, 699, &LIFETIMES),
        Rotation::Rotate
    );
    // Absolute end, even when used recently.
    let mut old = session(100);
    old.last_used_at = 3699;
    assert_eq!(
        decide(&token(None), &old, None, 3700, &LIFETIMES),
        Rotation::Refuse
    );
}

#[test]
fn successors_are_deterministic_and_bound_to_key_and_parent() {
    let a = RefreshSecret::successor_of(&[1; 32], b"parent");
    let b = RefreshSecret::successor_of(&[1; 32], b"parent");
    let c = RefreshSecret::successor_of(&[2; 32], b"parent");
    let d = RefreshSecret::successor_of(&[1; 32], b"other");
    assert_eq!(a.encode(), b.encode());
    assert_ne!(a.encode(), c.encode());
    assert_ne!(a.encode(), d.encode());
}

#[test]
fn only_well_formed_tokens_parse() {
    let secret = RefreshSecret::generate().unwrap();
    let text = secret.encode();
    assert_eq!(text.len(), ENCODED_LEN);
    assert_eq!(RefreshSecret::parse(&text).unwrap().hash(), secret.hash());
    assert!(RefreshSecret::parse("").is_none());
    assert!(RefreshSecret::parse(&format!("{text}x")).is_none());
    assert!(RefreshSecret::parse(&"!".repeat(ENCODED_LEN)).is_none());
}
