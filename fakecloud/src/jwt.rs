//! Access tokens: JWTs with the claims Entra ID puts in real ones (aud, iss, tid, oid, appid,
//! iat/nbf/exp), signed by the fake (HS256) so the fake ARM can check them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

pub struct Signer {
    key: [u8; 32],
}

impl Signer {
    pub fn new() -> Self {
        Self {
            key: rand::random(),
        }
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    pub fn sign(&self, claims: &Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{body}");
        let signature = URL_SAFE_NO_PAD.encode(self.mac(signing_input.as_bytes()));
        format!("{signing_input}.{signature}")
    }

    /// The claims of a token this signer issued; `Err` names what is wrong.
    pub fn verify(&self, token: &str) -> Result<Value, &'static str> {
        let mut parts = token.split('.');
        let (Some(header), Some(body), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("the token is not a JWT");
        };
        let expected = self.mac(format!("{header}.{body}").as_bytes());
        let given = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| "the signature is not base64url")?;
        if given != expected {
            return Err("the signature is invalid");
        }
        let claims = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| "the claims are not base64url")?;
        serde_json::from_slice(&claims).map_err(|_| "the claims are not JSON")
    }
}

impl Default for Signer {
    fn default() -> Self {
        Self::new()
    }
}
