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
    // Normalised on the stack: this runs for every object key of every exchange.
    let mut buffer = [0u8; 64];
    let mut len = 0;
    for byte in name
        .bytes()
        .filter(|b| !matches!(b, b'-' | b'_' | b'.' | b' '))
    {
        if len == buffer.len() {
            return is_secret_normal(&normal_form(name));
        }
        buffer[len] = byte.to_ascii_lowercase();
        len += 1;
    }
    is_secret_normal(&buffer[..len])
}

/// The normal form of a name of any length.
fn normal_form(name: &str) -> Vec<u8> {
    name.bytes()
        .filter(|b| !matches!(b, b'-' | b'_' | b'.' | b' '))
        .map(|b| b.to_ascii_lowercase())
        .collect()
}

fn is_secret_normal(mut normal: &[u8]) -> bool {
    while let [rest @ .., last] = normal {
        if !last.is_ascii_digit() {
            break;
        }
        normal = rest;
    }
    NAMES.iter().any(|n| n.as_bytes() == normal)
        || SUFFIXES.iter().any(|s| normal.ends_with(s.as_bytes()))
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
            "theUploadServiceOfTheNightlyBuildsAndTheirReleasesAndTheirArtifactsApiKey",
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
