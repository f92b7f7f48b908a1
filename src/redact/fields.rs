//! Which names say that their value is a secret: JSON object members, form and query fields,
//! and headers. A name is compared in a normal form (lower case, without `-`, `_`, `.` and
//! spaces, without trailing digits), so `apiKey`, `api_key`, `API-KEY` and `apikey2` are one
//! name; it is secret when the normal form is one of [`NAMES`] or ends with one of
//! [`SUFFIXES`]. The suffixes are chosen so that the API's public values stay readable:
//! `nodeKey`, `machineKey`, `tailnetLockKey` (public keys), `keyId`, `tokenExpiry`,
//! `keyExpiryDisabled` and `token_type` end with none of them.

/// Normal forms that are secret on their own: the created auth key's `key`, OAuth tokens and
/// client secrets, webhook `secret`s, log streaming credentials (`gcsCredentials`).
pub const NAMES: &[&str] = &[
    "key",
    "secret",
    "password",
    "passwd",
    "token",
    "credential",
    "credentials",
    "gcscredentials",
];

/// Endings of normal forms that are secret: `clientSecret`, `webhookSecret`, `access_token`,
/// `apiKey`, `privateKey`, `awsSecretAccessKey`, `x-api-key`, ...
pub const SUFFIXES: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "passphrase",
    "token",
    "apikey",
    "privatekey",
    "accesskey",
    "secretkey",
    "signingkey",
    "credentials",
];

/// Whether the value of a field or header called `name` is a secret.
pub fn is_secret_field(name: &str) -> bool {
    let mut normal: String = name
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    while normal.ends_with(|c: char| c.is_ascii_digit()) {
        normal.pop();
    }
    NAMES.contains(&normal.as_str()) || SUFFIXES.iter().any(|suffix| normal.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_in_any_case_or_separator_style() {
        for name in [
            "key",
            "secret",
            "Secret",
            "SECRET",
            "client_secret",
            "client-secret",
            "clientSecret",
            "webhookSecret",
            "access_token",
            "refresh_token",
            "id_token",
            "apiKey",
            "api_key",
            "privateKey",
            "awsSecretAccessKey",
            "s3SecretAccessKey",
            "gcsCredentials",
            "password",
            "password2",
            "x-api-key",
            "x-webhook-secret",
            "x-auth-token",
        ] {
            assert!(is_secret_field(name), "{name}");
        }
    }

    #[test]
    fn public_api_fields_are_not_secret() {
        for name in [
            "keyExpiryDisabled",
            "tokenExpiry",
            "token_type",
            "keyId",
            "id",
            "nodeKey",
            "machineKey",
            "tailnetLockKey",
            "tailnetLockError",
            "expires_in",
            "awsAccessKeyId",
            "authorized",
            "keys",
            "content-type",
        ] {
            assert!(!is_secret_field(name), "{name}");
        }
    }
}
