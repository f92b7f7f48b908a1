//! Ids and secrets in the API's formats, made from the state's counter so that a run gives the
//! same ones every time: stable ids are a letter, seven base-62 characters and `CNTRL` (`k…CNTRL`
//! keys, `w…CNTRL` webhooks, `a…CNTRL` OAuth apps; posture integrations have twelve; node ids,
//! `n…CNTRL`, come only from the seed, since no API call adds a device), device and invite ids are numbers, and secrets are `tskey-auth-ID-…`,
//! `tskey-client-ID-…`, `tskey-webhook-…` and `tskey-access-ID-…` with hex made from the
//! counter. Nothing here is random; nothing here is a real credential.

use super::state::Tailnet;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Odd and not a multiple of 31, so multiplying by it is a bijection modulo 62^n: distinct
/// counters give distinct ids.
const SPREAD: u64 = 2_654_435_761;

impl Tailnet {
    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// A stable id: `prefix`, `width` base-62 characters, `CNTRL`.
    pub fn stable_id(&mut self, prefix: char, width: u32) -> String {
        let n = self.next();
        let modulus = 62u128.pow(width);
        let mut x = u128::from(n) * u128::from(SPREAD) % modulus;
        let mut chars = vec![b'0'; width as usize];
        for slot in chars.iter_mut().rev() {
            *slot = BASE62[(x % 62) as usize];
            x /= 62;
        }
        format!("{prefix}{}CNTRL", String::from_utf8_lossy(&chars))
    }

    /// A numeric id (devices, invites): unique, twelve digits for devices, five for invites.
    pub fn numeric_id(&mut self, base: u64) -> String {
        let n = self.next();
        (base + n * 7919).to_string()
    }

    /// 32 hex characters made from the counter, for secrets and invite codes.
    pub fn hex(&mut self) -> String {
        let n = self.next();
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            format!("tailtape-emulate:{n}").as_bytes(),
        );
        digest.as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A key's secret: `tskey-KIND-ID-HEX` (`auth`, `client`).
    pub fn secret(&mut self, kind: &str, id: &str) -> String {
        format!("tskey-{kind}-{id}-{}", self.hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_ids_are_unique_and_in_the_api_format() {
        let mut tailnet: Tailnet = serde_json::from_str(crate::emulate::seed::EXAMPLE).unwrap();
        let ids: Vec<String> = (0..1000).map(|_| tailnet.stable_id('k', 7)).collect();
        assert_eq!(tailnet.stable_id('p', 12).len(), 18);
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        for id in &ids {
            assert_eq!(id.len(), 13, "{id}");
            assert!(id.starts_with('k') && id.ends_with("CNTRL"), "{id}");
        }
    }
}
