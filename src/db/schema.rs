// @generated automatically by Diesel CLI.

diesel::table! {
    auth_events (id) {
        id -> BigInt,
        occurred_at -> BigInt,
        event -> Text,
        outcome -> Text,
        user_id -> Nullable<Text>,
        session_id -> Nullable<Text>,
        actor_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    sign_in_throttles (throttle_key) {
        throttle_key -> Text,
        scope -> Text,
        user_id -> Nullable<Text>,
        failures -> Integer,
        locked_until -> BigInt,
        last_failure_at -> BigInt,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        session_id -> Text,
        token_hash -> Binary,
        parent_id -> Nullable<BigInt>,
        issued_at -> BigInt,
        used_at -> Nullable<BigInt>,
        retried_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> BigInt,
        last_used_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        revoked_reason -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
        amr -> Text,
        authenticated_at -> BigInt,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        generation -> Integer,
        algorithm -> Text,
        public_key -> Binary,
        private_key_sealed -> Binary,
        created_at -> BigInt,
        retired_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        username_key -> Text,
        password_hash -> Text,
        role -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        password_changed_at -> BigInt,
        disabled_at -> Nullable<BigInt>,
        auth_epoch -> BigInt,
        username_skeleton -> Nullable<Text>,
        email -> Nullable<Text>,
        email_key -> Nullable<Text>,
        email_verified_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    one_time_tokens (token_hash) {
        token_hash -> Binary,
        purpose -> Text,
        user_id -> Text,
        email -> Nullable<Text>,
        auth_epoch -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> BigInt,
        kind -> Text,
        recipient -> Text,
        user_id -> Nullable<Text>,
        subject -> Text,
        body_text -> Nullable<Text>,
        body_html -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        created_at -> BigInt,
        next_attempt_at -> BigInt,
        last_attempt_at -> Nullable<BigInt>,
        sent_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Text,
        user_id -> Text,
        credential_id -> Binary,
        name -> Text,
        passkey -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    webauthn_ceremonies (id) {
        id -> Text,
        kind -> Text,
        user_id -> Nullable<Text>,
        state -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(mail_outbox -> users (user_id));
diesel::joinable!(one_time_tokens -> users (user_id));
diesel::table! {
    totp_factors (user_id) {
        user_id -> Text,
        secret_sealed -> Binary,
        created_at -> BigInt,
        confirmed_at -> Nullable<BigInt>,
        last_used_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    recovery_codes (code_hash) {
        code_hash -> Binary,
        user_id -> Text,
        created_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    second_factor_challenges (token_hash) {
        token_hash -> Binary,
        user_id -> Text,
        auth_epoch -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        failures -> Integer,
    }
}

diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(sign_in_throttles -> users (user_id));
diesel::joinable!(totp_factors -> users (user_id));
diesel::joinable!(passkeys -> users (user_id));
diesel::joinable!(webauthn_ceremonies -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    auth_events,
    mail_outbox,
    one_time_tokens,
    passkeys,
    recovery_codes,
    refresh_tokens,
    second_factor_challenges,
    sessions,
    sign_in_throttles,
    signing_keys,
    totp_factors,
    users,
    webauthn_ceremonies,
);
